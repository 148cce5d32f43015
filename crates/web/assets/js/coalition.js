//! The coalition page: the roster with join dates and status, the peers with sync status and
//! lag, and this node's health.

import { h, mount } from "./dom.js";
import { api } from "./api.js";
import { t, num, vocab } from "./i18n.js";

export async function render(main) {
  const [roster, co] = await Promise.all([api("/ui/api/roster"), api("/ui/api/coalition").catch((e) => ({ error: e.message }))]);
  const node = co.node || {};
  const up = node.uptime_s != null ? t("uptime_value", { h: Math.floor(node.uptime_s / 3600), m: Math.floor((node.uptime_s % 3600) / 60) }) : "—";
  // Codes, names, URLs and versions are data; statuses and labels are words of the UI.
  const data = (text) => h("span", { translate: "no" }, text);
  mount(main, h("section.page.coalition",
    h("h1", t("coalition")),
    h("section#node-health", h("h2", t("node")), h("dl.fields",
      h("dt", t("peer")), h("dd", data(node.member || roster.me || "—")),
      h("dt", t("version")), h("dd", data(node.version || "—")),
      h("dt", t("uptime")), h("dd", up),
      h("dt", t("store")), h("dd", data(node.store || "—")))),
    h("section", h("h2", t("roster")), h("table#roster",
      h("thead", h("tr", h("th", t("code")), h("th", t("name")), h("th", t("status")), h("th", t("joined")))),
      h("tbody", (roster.members || []).map((m) => h("tr", { class: m.code === roster.me ? "me" : null },
        h("td", data(m.code)), h("td", data(m.name)), h("td", h(`span.status.${m.status}`, vocab("statuses", m.status))), h("td", num(m.joined || "—"))))))),
    (roster.groups || []).length ? h("section", h("h2", t("groups")), h("ul", roster.groups.map((g) =>
      h("li", { translate: "no" }, h("strong", `${g.name} (${g.code})`), `: ${(g.members || []).join(", ")}`)))) : null,
    h("section", h("h2", t("peers")), co.error ? h("p.error", co.error) : h("table#peers",
      h("thead", h("tr", h("th", t("peer")), h("th", t("url")), h("th", t("status")), h("th", t("last_contact")), h("th", t("lag")))),
      h("tbody", (co.peers || []).map((p) => h("tr", h("td", data(p.member)), h("td", data(p.url)), h("td", h(`span.status.${p.status}`, vocab("statuses", p.status))),
        h("td", num(p.last_contact || "—")), h("td", t("lag_value", { o: p.lag_objects ?? "?", s: p.lag_seconds ?? "?" })))))))));
}
