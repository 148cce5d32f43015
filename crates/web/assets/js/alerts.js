//! Alerts: the caller's stored watch-zone alerts, and what the live stream brings while the page
//! is open (new incidents and alerts appear at the top without a reload).

import { h, mount } from "./dom.js";
import { api } from "./api.js";
import { t, num, vocab } from "./i18n.js";
import * as live from "./live.js";

export async function render(main) {
  live.seen();
  const liveList = h("ul.feed#live-feed", { "aria-live": "polite" });
  const stored = h("ul.feed#stored-alerts");
  const item = (kind, d) => h(`li.${kind}`,
    h("span.tag", kind === "alert" ? t("zone_alert") : t("new_incident")), " ",
    h("a", { href: `#/incident/${encodeURIComponent(d.incident || d.id)}`, translate: "no" }, d.name || d.object?.name || d.incident || d.id),
    kind === "alert" ? h("span.muted", " · ", h("span", { translate: "no" }, d.zone_name || d.zone), ` · ${vocab("match", d.match)}`) : null,
    h("span.muted", { translate: "no" }, ` · ${d.originator || ""}`));
  for (const r of live.received) liveList.append(item(r.kind, r.data));
  const off = live.on((kind, d) => { liveList.prepend(item(kind, d)); live.seen(); });
  mount(main, h("section.page",
    h("h1", t("alerts")),
    h("p.live-state", h("span.dot"), " ", t("live")),
    h("h2", t("live")), liveList,
    h("h2", t("zones")), stored));
  try {
    const [res, zones] = await Promise.all([api("/api/tandem/alerts/?limit=200"), api("/api/tandem/watch-zones/").catch(() => ({}))]);
    const zoneName = new Map(((zones && zones.zones) || []).map((z) => [z.id, z.name]));
    const alerts = res.alerts || [];
    if (!alerts.length) stored.append(h("li.muted", t("no_results")));
    for (const a of alerts) {
      const inc = a.incident_object || (a.incident && typeof a.incident === "object" ? a.incident : null);
      const id = typeof a.incident === "string" ? a.incident : inc && inc.id;
      stored.append(h("li", h("span.tag", vocab("match", a.match || "")), " ",
        h("a", { href: `#/incident/${encodeURIComponent(id)}`, translate: "no" }, (inc && inc.name) || a.name || id),
        h("span.muted", " · ", h("span", { translate: "no" }, `${a.zone_name || zoneName.get(a.zone) || a.zone || ""} · ${a.originator || ""}`),
          ` · ${num(a.raised || a.position || "")}`)));
    }
  } catch (e) {
    stored.append(h("li.error", String(e.message)));
  }
  return () => off();
}
