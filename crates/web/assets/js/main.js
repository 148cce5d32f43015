//! The single-page app: hash routes, the session gate, the top bar and the language switch.
//! Each page is a module with `render(main, params)` that may return a cleanup function.

import { h, mount, toast } from "./dom.js";
import { session, login, restore, logout, ApiError } from "./api.js";
import { t, prefs, setLang, setArabicDigits, applyDir } from "./i18n.js";
import * as live from "./live.js";

const PAGES = {
  map: () => import("./map.js"),
  incident: () => import("./incident.js"),
  report: () => import("./report.js"),
  cell: () => import("./cell.js"),
  coalition: () => import("./coalition.js"),
  alerts: () => import("./alerts.js"),
  search: () => import("./search.js"),
  interop: () => import("./interop.js"),
};

let cleanup = null;
let routeSeq = 0;
const main = document.getElementById("main");

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return { page: parts[0] || "map", params: parts.slice(1) };
}

function renderTop() {
  const top = document.getElementById("top");
  top.hidden = !session.user;
  const { page } = parseHash();
  const link = (route, key, extra) =>
    h("a", { href: `#/${route}`, "aria-current": page === route ? "page" : null }, t(key), extra || null);
  mount(document.getElementById("nav"), link("map", "map"), link("report", "report"),
    link("coalition", "coalition"), link("alerts", "alerts", live.badge()), link("search", "search"),
    link("interop", "interop"));
  const lang = h("select#lang", { "aria-label": t("language"), onchange: (e) => {
    // Toasts still up are in the old language.
    document.getElementById("toasts").replaceChildren();
    setLang(e.target.value); route();
  } },
    // Each language named in itself.
    h("option", { value: "en", selected: prefs.lang === "en", translate: "no" }, "English"),
    h("option", { value: "ar", selected: prefs.lang === "ar", translate: "no" }, "العربية"));
  const digits = h("label.inline", h("input#digits", { type: "checkbox", checked: prefs.arabicDigits,
    onchange: (e) => { setArabicDigits(e.target.checked); route(); } }), t("numerals"));
  mount(document.getElementById("who"), lang, digits,
    h("span.user", { translate: "no" }, `${session.user || ""} · ${session.member_name || session.member || ""}`),
    h("button#logout", { type: "button", onclick: async () => { live.stop(); await logout(); location.hash = "#/login"; route(); } }, t("logout")));
}

async function route() {
  const seq = ++routeSeq;
  applyDir();
  document.title = t("app");
  document.getElementById("skip-link").textContent = prefs.lang === "ar" ? "انتقل إلى المحتوى" : "Skip to content";
  if (cleanup) { try { cleanup(); } catch { /* a page's cleanup must not block the next page */ } cleanup = null; }
  let { page, params } = parseHash();
  if (!session.user && page !== "login") {
    if (!(await restore())) { location.hash = "#/login"; page = "login"; }
  }
  if (seq !== routeSeq) return;
  if (session.user && page === "login") { location.hash = "#/map"; return; }
  renderTop();
  if (page === "login") { renderLogin(); return; }
  live.start();
  const loader = PAGES[page];
  if (!loader) { mount(main, h("p", t("not_found"))); return; }
  // Each route renders into its own box: a route overtaken by a newer one (a quick second
  // click, a language switch while the page still loads) finishes into a box no longer shown
  // and is cleaned up, instead of drawing over the newer page.
  const box = h("div.page-box", h("p.loading", { "aria-busy": "true" }, "…"));
  // The old page goes at once: nothing of it may be clicked while the new one loads.
  mount(main, box);
  try {
    const mod = await loader();
    if (seq !== routeSeq) return;
    const focusMain = !main.contains(document.activeElement) || document.activeElement === document.body;
    window.scrollTo(0, 0);
    const done = (await mod.render(box, params)) || null;
    if (seq !== routeSeq) {
      // Overtaken: cleaned up once the page has settled (a Leaflet map removed in the very
      // frame it was set up in still has redraws queued).
      if (done) setTimeout(() => { try { done(); } catch { /* overtaken anyway */ } }, 1000);
      return;
    }
    cleanup = done;
    // A new page: keyboard users continue from its start, not from where the old page was.
    if (focusMain || !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  } catch (e) {
    if (seq !== routeSeq) return;
    console.error(e);
    mount(main, h("p.error", e instanceof ApiError && e.status === 404 ? t("not_found") : String(e.message || e)));
  }
}

function renderLogin() {
  const err = h("p.error#login-error", { role: "alert" });
  const user = h("input#username", { name: "username", autocomplete: "username", required: true });
  const pass = h("input#password", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form.login", { onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      await login(user.value, pass.value);
      location.hash = "#/map";
    } catch (ex) {
      if (ex.status === 429) err.textContent = t("throttled", { s: Number(ex.body?.retry_after) || 60 });
      else err.textContent = t("login_failed");
      pass.select();
    }
  } },
  h("h1", t("login_title")),
  h("div.field", h("label", { for: "username" }, t("username")), user),
  h("div.field", h("label", { for: "password" }, t("password")), pass),
  err,
  h("button.primary#login-submit", { type: "submit" }, t("login")),
  h("p.langs", h("button.link", { type: "button", onclick: () => { setLang(prefs.lang === "ar" ? "en" : "ar"); renderLogin(); applyDir(); } },
    prefs.lang === "ar" ? "English" : "العربية")));
  mount(main, h("section.login-page", form));
  user.focus();
}

window.addEventListener("hashchange", route);
live.onChange(() => { if (session.user) renderTop(); });
window.addEventListener("unhandledrejection", (e) => toast(String(e.reason?.message || e.reason), "error"));
route();
