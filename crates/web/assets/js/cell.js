//! The cell page: the cell's track on the map (its incidents in time order, joined by a line, with
//! the convex hull) and its timeline, from `/api/tandem/analytics/tracks/{cell}`.

import { h, mount } from "./dom.js";
import { api, incidents } from "./api.js";
import { t, num, subEventName } from "./i18n.js";
import { baseMap, removeMap, L } from "./basemap.js";
import { Timeline } from "./timeline.js";
import { index, filter } from "./incidents.js";

export async function render(main, [id]) {
  const mapEl = h("div.map.cell-map#cell-map");
  const tl = h("canvas.timeline#cell-timeline");
  const steps = h("ol.steps#cell-steps");
  const head = h("h1", { translate: "no" }, id);
  mount(main, h("section.page.cell", head, h("div.cell-grid", mapEl, h("div", h("h2", t("steps")), steps)), h("h2", t("timeline")), tl));
  const [map, track, list, cells] = await Promise.all([baseMap(mapEl), api(`/api/tandem/analytics/tracks/${encodeURIComponent(id)}`),
    incidents(), api("/ui/api/cells").catch(() => [])]);
  const me = (cells || []).find((c) => c.id === id);
  if (me) head.textContent = me.name;
  const pts = [];
  for (const s of track.steps || []) {
    if (!s.point) continue;
    const ll = [s.point[0], s.point[1]];
    pts.push(ll);
    L.circleMarker(ll, { radius: 5, color: "#222", weight: 1, fillColor: "#d55e00", fillOpacity: 0.9 })
      .bindTooltip(`${num(s.date)} ${subEventName(s.sub_event_type || "")}`).on("click", () => (location.hash = `#/incident/${encodeURIComponent(s.incident)}`)).addTo(map);
    steps.append(h("li", h("a", { href: `#/incident/${encodeURIComponent(s.incident)}` }, num(s.date)), ` ${subEventName(s.sub_event_type || "")} · `,
      h("span", { translate: "no" }, s.admin1 || ""),
      s.km_from_previous != null ? h("span.muted", ` · ${t("km_days", { km: Math.round(s.km_from_previous), d: s.days_from_previous })}`) : null));
  }
  if (pts.length > 1) L.polyline(pts, { color: "#333", weight: 1.5, dashArray: "4 3" }).addTo(map);
  if ((track.hull || []).length > 2) L.polygon(track.hull.map((p) => [p[0], p[1]]), { color: "#6a3d9a", weight: 1, fillOpacity: 0.08 }).addTo(map);
  if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 9, animate: false });
  // The timeline spans the cell's own incidents.
  const ix = index(list.filter((r) => (r.cells || []).includes(id)));
  const mine = filter(ix, { from: -1e9, to: 1e9, types: null, grade: "", member: "", cell: "" });
  const timeline = new Timeline(tl, ix, () => {});
  timeline.update(mine, [ix.minDay, ix.maxDay]);
  return () => removeMap(map);
}
