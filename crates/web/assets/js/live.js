//! The live stream (`/api/tandem/stream/`, Server-Sent Events with the session cookie): one
//! EventSource per tab; new incidents and watch-zone alerts arrive without a reload. Every change
//! to an incident (version, revocation, deletion) makes the cached incident list fetch that
//! entry again (`api.freshen`), so an open map, timeline and list follow. The browser's
//! EventSource reconnects by itself and sends `Last-Event-ID`, so nothing is missed.

import { h, toast } from "./dom.js";
import { t, num } from "./i18n.js";
import { freshen, refreshAll } from "./api.js";

let es = null;
let unseen = 0;
const listeners = new Set();
const changeListeners = new Set();
export const received = []; // newest first: {kind, data, at}
export let connected = false;

export function on(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function onChange(fn) { changeListeners.add(fn); }
function changed() { for (const f of changeListeners) f(); }

export function start() {
  if (es) return;
  es = new EventSource("/api/tandem/stream/");
  es.onopen = () => { connected = true; document.body.dataset.live = "open"; changed(); };
  es.onerror = () => { connected = false; document.body.dataset.live = "retry"; };
  es.addEventListener("alert", (e) => deliver("alert", e));
  es.addEventListener("version", (e) => deliver("version", e));
  es.addEventListener("revocation", (e) => deliver("revocation", e));
  es.addEventListener("deletion", (e) => deliver("deletion", e));
  es.addEventListener("reset", () => refreshAll());
}

function deliver(kind, e) {
  let data;
  try { data = JSON.parse(e.data); } catch { return; }
  // Any change to an incident: the cached list fetches its entry again (as the user).
  if (typeof data.id === "string" && data.id.startsWith("incident--")) freshen(data.id);
  if (kind === "revocation" || kind === "deletion") return;
  if (kind === "version" && data.type !== "incident") return;
  received.unshift({ kind, data, at: new Date() });
  if (received.length > 500) received.length = 500;
  if (kind === "alert") {
    unseen++;
    toast([`${t("zone_alert")}: `, h("span", { translate: "no" }, `${data.zone_name || data.zone} — ${data.name || data.incident}`)], "alert");
  }
  for (const f of listeners) f(kind, data);
  if (kind === "alert") changed(); // the badge; other events leave the top bar alone (and its focus)
}

export function seen() { unseen = 0; changed(); }

export function badge() {
  return unseen ? h("span.badge#alert-badge", { "aria-label": `${unseen}` }, num(unseen)) : null;
}

export function stop() {
  if (es) es.close();
  es = null;
  connected = false;
}
