//! The coalition page: the roster with join dates and status, the peers with sync status and
//! lag, and this node's health.

import { h, mount } from "./dom.js";
import { api } from "./api.js";
import { t, num } from "./i18n.js";

export async function render(main) {
  const [roster, co] = await Promise.all([api("/ui/api/roster"), api("/ui/api/coalition").catch((e) => ({ error: e.message }))]);
  const node = co.node || {};
  const up = node.uptime_s != null ? `${num(Math.floor(node.uptime_s / 3600))} h ${num(Math.floor((node.uptime_s % 3600) / 60))} min` : "—";
  mount(main, h("section.page.coalition",
    h("h1", t("coalition")),
    h("section#node-health", h("h2", t("node")), h("dl.fields",
      h("dt", t("peer")), h("dd", node.member || roster.me || "—"),
      h("dt", t("version")), h("dd", node.version || "—"),
      h("dt", t("uptime")), h("dd", up),
      h("dt", "Store"), h("dd", node.store || "—"))),
    h("section", h("h2", t("roster")), h("table#roster",
      h("thead", h("tr", h("th", "Code"), h("th", "Name"), h("th", t("status")), h("th", t("joined")))),
      h("tbody", (roster.members || []).map((m) => h("tr", { class: m.code === roster.me ? "me" : null },
        h("td", m.code), h("td", m.name), h("td", h(`span.status.${m.status}`, m.status)), h("td", num(m.joined || "—"))))))),
    (roster.groups || []).length ? h("section", h("h2", t("groups")), h("ul", roster.groups.map((g) =>
      h("li", h("strong", `${g.name} (${g.code})`), `: ${(g.members || []).join(", ")}`)))) : null,
    h("section", h("h2", t("peers")), co.error ? h("p.error", co.error) : h("table#peers",
      h("thead", h("tr", h("th", t("peer")), h("th", "URL"), h("th", t("status")), h("th", t("last_contact")), h("th", t("lag")))),
      h("tbody", (co.peers || []).map((p) => h("tr", h("td", p.member), h("td", p.url), h("td", h(`span.status.${p.status}`, p.status)),
        h("td", num(p.last_contact || "—")), h("td", `${num(p.lag_objects ?? "?")} / ${num(p.lag_seconds ?? "?")} s`))))))));
}
