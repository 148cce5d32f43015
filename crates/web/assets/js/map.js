//! The map page: the offline base map, the incidents (clustered, coloured, sized, uncertainty as
//! areas), filters (time window, event type, cell, grading, member), spike and hot-spot overlays,
//! watch zones (drawn, listed, deleted), the timeline and the list. All filtering is in the
//! browser over the one incident list; every change redraws map, timeline and list together,
//! and so does every incident the live stream brings (the cached list follows it in place).

import { h, mount, field, toast } from "./dom.js";
import { api, incidents, onIncidentsChanged } from "./api.js";
import { t, num, eventName, prefs } from "./i18n.js";
import { baseMap, canvas, removeMap, L } from "./basemap.js";
import { IncidentLayer } from "./canvaslayer.js";
import { editZone } from "./zoneedit.js";
import { Timeline } from "./timeline.js";
import { index, filter, EVENT_TYPES, COLORS, GRADES, isoDay, dayNumber, weekOf } from "./incidents.js";

// Kept across visits of the page within the tab, so going to an incident and back keeps the view.
const state = { filter: null, view: null };
export const perf = (window.__tandem = window.__tandem || { perf: {} }).perf;

export async function render(main) {
  const t0 = performance.now();
  const mapEl = h("div.map#map", { role: "region", "aria-label": t("map") });
  const side = h("aside.side", { "aria-label": t("filters") });
  const tlCanvas = h("canvas.timeline#timeline", { role: "img", tabindex: "-1" });
  const listEl = h("ol.inc-list#incident-list");
  const count = h("p.count#count", { "aria-live": "polite" });
  mount(main, h("div.map-page", side, h("div.map-col", mapEl,
    h("section.tl", h("h2.sr", t("timeline")), h("p.tl-cap", t("timeline"), " · ",
      h("span.key.exact"), " ", t("date"), " ", h("span.key.spread"), " ", t("uncertain"), " ",
      h("span.key.spike"), " ", t("spikes")), tlCanvas)),
  h("section.listcol", { "aria-label": t("list") }, count, listEl)));

  const [map, list] = await Promise.all([baseMap(mapEl), incidents()]);
  perf.fetched_ms = performance.now() - t0;
  let ix = index(list);
  window.__tandem.map = map; // for the browser tests and the console
  if (!state.filter) state.filter = { from: ix.minDay, to: ix.maxDay, types: null, grade: "", member: "", cell: "" };
  const f = state.filter;
  // A window that reached the end (or start) of the data keeps doing so when new incidents widen it.
  const followSpan = () => {
    if (state.span && f.to >= state.span[1]) f.to = ix.maxDay;
    if (state.span && f.from <= state.span[0]) f.from = ix.minDay;
    state.span = [ix.minDay, ix.maxDay];
  };
  followSpan();
  if (state.view) map.setView(state.view.center, state.view.zoom, { animate: false });
  map.on("moveend", () => (state.view = { center: map.getCenter(), zoom: map.getZoom() }));

  const layer = new IncidentLayer(ix, (i) => { location.hash = `#/incident/${encodeURIComponent(ix.list[i].id)}`; });
  layer.addTo(map);
  const timeline = new Timeline(tlCanvas, ix, (a, b) => { f.from = a; f.to = b; syncSliders(); apply("brush"); });

  // ---- filters
  const weeksSpan = () => Math.ceil((ix.maxDay - ix.minDay) / 7);
  const toWeek = (d) => Math.round((d - ix.minDay) / 7);
  const fromWeek = (w) => Math.min(ix.maxDay, ix.minDay + w * 7);
  const fromIn = h("input#f-from", { type: "range", min: 0, max: weeksSpan(), step: 1, value: toWeek(f.from) });
  const toIn = h("input#f-to", { type: "range", min: 0, max: weeksSpan(), step: 1, value: toWeek(f.to) });
  const fromOut = h("output#f-from-out", { for: "f-from" });
  const toOut = h("output#f-to-out", { for: "f-to" });
  const syncSliders = () => {
    fromIn.value = toWeek(f.from); toIn.value = toWeek(f.to);
    fromOut.textContent = num(isoDay(f.from)); toOut.textContent = num(isoDay(f.to));
    fromIn.setAttribute("aria-valuetext", isoDay(f.from)); toIn.setAttribute("aria-valuetext", isoDay(f.to));
  };
  fromIn.addEventListener("input", () => { f.from = Math.min(fromWeek(+fromIn.value), f.to); syncSliders(); apply("slider"); });
  toIn.addEventListener("input", () => { f.to = Math.max(fromWeek(+toIn.value), f.from); syncSliders(); apply("slider"); });
  syncSliders();

  const typeBoxes = EVENT_TYPES.map((ty, k) => h("label.check",
    h("input", { type: "checkbox", value: k, "data-type": ty, checked: !f.types || f.types.has(k),
      onchange: () => {
        const on = typeBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => +c.value);
        f.types = on.length === EVENT_TYPES.length ? null : new Set(on);
        apply("type");
      } }),
    h("span.swatch", { style: `background:${COLORS[ty]}` }), eventName(ty)));
  // `data`: the options are names from the data (cells, members), not words of the UI.
  const sel = (id, opts, cur, on, data = false) => {
    const s = h(`select#${id}`, { onchange: () => on(s.value) }, h("option", { value: "" }, t("all")),
      opts.map(([v, label]) => h("option", { value: v, selected: v === cur, translate: data ? "no" : null }, label)));
    return s;
  };
  const cells = [...ix.cells.entries()].sort((a, b) => b[1] - a[1]);
  let cellNames = new Map();
  const cellSel = sel("f-cell", cells.map(([id, n]) => [id, `${id.slice(0, 22)}… (${num(n)})`]), f.cell, (v) => { f.cell = v; apply("cell"); }, true);
  api("/ui/api/cells").then((cs) => {
    cellNames = new Map((cs || []).map((c) => [c.id, c.name]));
    for (const o of cellSel.options) if (cellNames.has(o.value)) o.textContent = cellCount(o.value);
  }).catch(() => {});
  const gradeSel = sel("f-grade", GRADES.map((g) => [g, `≥ ${g}`]), f.grade, (v) => { f.grade = v; apply("grade"); });
  const memberSel = sel("f-member", ix.members.map((m) => [m, m]), f.member, (v) => { f.member = v; apply("member"); }, true);
  const cellCount = (id) => `${cellNames.get(id) || `${id.slice(0, 22)}…`} (${num(ix.cells.get(id) || 0)})`;

  // ---- overlays: in their own pane above the incidents, drawn as rings so clusters stay readable
  map.createPane("overlays").style.zIndex = 650;
  const overRenderer = canvas({ pane: "overlays", padding: 0.3 });
  const spikeLayer = L.layerGroup(), hotLayer = L.layerGroup();
  const overlayBox = (id, label, lyr, load) => h("label.check", h("input#" + id, { type: "checkbox", onchange: async (e) => {
    if (e.target.checked) { await load(); lyr.addTo(map); } else lyr.remove();
  } }), label);
  let spikeRows = [];
  const loadSpikes = async () => {
    try {
      const res = await api(`/api/tandem/analytics/spikes?from=${isoDay(f.from)}&to=${isoDay(f.to)}&flagged=true`);
      spikeRows = flattenSpikes(res);
    } catch (e) { toast(`${t("spikes")}: ${e.message}`, "error"); spikeRows = []; }
    drawSpikes();
  };
  const drawSpikes = () => {
    spikeLayer.clearLayers();
    const byGov = new Map();
    for (const r of spikeRows) byGov.set(r.admin1, (byGov.get(r.admin1) || 0) + 1);
    for (const [gov, n] of byGov) {
      const c = govCentre.get(gov);
      if (!c) continue;
      L.circleMarker(c, { renderer: overRenderer, radius: 12 + Math.min(14, n), color: "#c00", weight: 3, fill: false, dashArray: "2 3" })
        .bindTooltip(`${t("spikes")}: ${gov} · ${num(n)}`).addTo(spikeLayer);
    }
    timeline.setSpikes(spikeRows.map((r) => weekOf(dayNumber(r.week))));
    document.body.dataset.spikes = String(spikeRows.length);
  };
  const loadHot = async () => {
    hotLayer.clearLayers();
    try {
      const res = await api(`/api/tandem/analytics/hotspots?from=${isoDay(f.from)}&to=${isoDay(f.to)}`);
      for (const c of res.significant || []) {
        L.circle([c.lat, c.lon], { renderer: overRenderer, radius: 9000, color: c.kind === "hot" ? "#b30000" : "#0050b3", weight: 2, fillOpacity: 0.12 })
          .bindTooltip(`${t(c.kind === "hot" ? "hot" : "cold")} z=${num(c.z.toFixed(1))} p=${c.p.toExponential(1)}`).addTo(hotLayer);
      }
      document.body.dataset.hotspots = String((res.significant || []).length);
    } catch (e) { toast(`${t("hotspots")}: ${e.message}`, "error"); }
  };
  const govCentre = new Map();
  fetch("/ui/data/governorates.json").then((r) => (r.ok ? r.json() : null)).then((g) => {
    for (const ft of (g && g.features) || []) {
      const b = L.geoJSON(ft).getBounds();
      if (b.isValid()) govCentre.set(ft.properties.code, b.getCenter());
    }
  }).catch(() => {});
  // Still fill centres from the incidents when the node serves no governorate polygons.
  const sums = new Map();
  for (const r of list) {
    if (typeof r.lat !== "number" || !r.admin1) continue;
    const s = sums.get(r.admin1) || [0, 0, 0];
    s[0] += r.lat; s[1] += r.lon; s[2]++; sums.set(r.admin1, s);
  }
  for (const [g, s] of sums) if (!govCentre.has(g)) govCentre.set(g, L.latLng(s[0] / s[2], s[1] / s[2]));

  // ---- watch zones
  const zoneLayer = L.layerGroup().addTo(map);
  const zoneList = h("ul.zones#zone-list");
  const loadZones = async () => {
    zoneLayer.clearLayers();
    let zones = [];
    try { zones = (await api("/api/tandem/watch-zones/")).zones || []; } catch { /* no zones readable */ }
    mount(zoneList, zones.length ? null : h("li.muted", t("no_results")));
    for (const z of zones) {
      const g = z.geometry || {};
      if (g.kind === "radius") L.circle([g.lat, g.lon], { renderer: overRenderer, radius: g.radius_km * 1000, color: "#6a3d9a", weight: 2.5, fill: false }).bindTooltip(z.name).addTo(zoneLayer);
      if (g.kind === "polygon") L.polygon(g.ring.map(([lon, lat]) => [lat, lon]), { renderer: overRenderer, color: "#6a3d9a", weight: 2.5, fill: false }).bindTooltip(z.name).addTo(zoneLayer);
      zoneList.append(h("li", h("span", { translate: "no" }, z.name), " ", h("span.muted", t(`zone_kind_${g.kind}`)), " ",
        h("span.row", h("button.small", { type: "button", "aria-label": `${t("zone_edit")} ${z.name}`, onclick: () => startEditing(z) }, t("zone_edit")),
          h("button.small", { type: "button", "aria-label": `${t("zone_delete")} ${z.name}`, onclick: async () => {
            if (stopEditing) stopEditing();
            await api(`/api/tandem/watch-zones/${encodeURIComponent(z.id)}/`, { method: "DELETE" });
            loadZones();
          } }, t("zone_delete")))));
    }
  };
  loadZones();
  // Editing one zone at a time: its handles on the map, its form under the list.
  const zoneEdit = h("div.zone-edit#zone-edit", { hidden: true });
  let stopEditing = null;
  const startEditing = (z) => {
    stopDrawing();
    if (stopEditing) stopEditing();
    stopEditing = editZone({ map, zone: z, box: zoneEdit, renderer: overRenderer,
      onSaved: (saved) => { stopEditing = null; toast([`${t("zone_saved")}: `, h("span", { translate: "no" }, saved.name)]); loadZones(); },
      onClose: () => { stopEditing = null; } });
  };
  const zoneName = h("input#zone-name", { placeholder: t("zone_name") });
  const zoneRadius = h("input#zone-radius", { type: "number", min: 1, max: 500, value: 25 });
  const zoneHint = h("p.hint#zone-hint", { hidden: true }, t("zone_hint"));
  let drawing = null;
  const stopDrawing = () => { layer.picking = true; if (drawing) { drawing.temp.remove(); map.off("click", drawing.onClick); } drawing = null; zoneHint.hidden = true; finishBtn.hidden = true; mapEl.classList.remove("drawing"); };
  const postZone = async (body) => {
    try {
      await api("/api/tandem/watch-zones/", { method: "POST", body: { name: zoneName.value || t("zones"), ...body } });
      zoneName.value = "";
      loadZones();
    } catch (e) { toast(e.message, "error"); }
  };
  const startDrawing = (kind) => {
    stopDrawing();
    if (stopEditing) { stopEditing(); stopEditing = null; }
    const temp = L.layerGroup().addTo(map);
    const pts = [];
    const onClick = (e) => {
      if (kind === "radius") {
        stopDrawing();
        postZone({ point: [e.latlng.lat, e.latlng.lng], radius_km: +zoneRadius.value || 25 });
      } else {
        pts.push(e.latlng);
        temp.clearLayers();
        L.polyline(pts, { renderer: overRenderer, color: "#6a3d9a", weight: 2.5, dashArray: "3 3" }).addTo(temp);
      }
    };
    drawing = { temp, onClick, pts, kind };
    layer.picking = false;
    map.on("click", onClick);
    zoneHint.hidden = false;
    finishBtn.hidden = kind !== "polygon";
    mapEl.classList.add("drawing");
  };
  const finishBtn = h("button#zone-finish", { type: "button", hidden: true, onclick: () => {
    const pts = drawing ? drawing.pts : [];
    stopDrawing();
    if (pts.length >= 3) postZone({ geometry: { type: "Polygon", coordinates: [[...pts, pts[0]].map((p) => [p.lng, p.lat])] } });
  } }, t("finish"));

  const legend = h("div.legend", h("h3", t("legend")),
    h("p", h("span.lg-dot"), " ", t("fatalities"), ": ", num(0), " → ", num(50)),
    h("p", h("span.lg-area"), " ", t("area")),
    h("p", h("span.lg-cluster"), " ", t("cluster")));

  mount(side,
    h("h2", t("filters")),
    h("fieldset", h("legend", t("date")),
      h("div.field", h("label", { for: "f-from" }, t("from"), " ", fromOut), fromIn),
      h("div.field", h("label", { for: "f-to" }, t("to"), " ", toOut), toIn)),
    h("fieldset#f-types", h("legend", t("event_type")), typeBoxes),
    field(t("cell"), cellSel), field(t("grading"), gradeSel), field(t("member"), memberSel),
    h("fieldset", h("legend", t("overlays")), overlayBox("o-spikes", t("spikes"), spikeLayer, loadSpikes),
      overlayBox("o-hot", t("hotspots"), hotLayer, loadHot)),
    h("fieldset", h("legend", t("zones")), zoneList, zoneEdit, field(t("zone_name"), zoneName), field(t("radius_km"), zoneRadius),
      h("div.row", h("button#zone-radius-btn", { type: "button", onclick: () => startDrawing("radius") }, t("zone_radius")),
        h("button#zone-polygon-btn", { type: "button", onclick: () => startDrawing("polygon") }, t("zone_polygon")),
        finishBtn, h("button", { type: "button", onclick: stopDrawing }, t("cancel"))), zoneHint),
    legend);

  // ---- apply: filter once, redraw map, timeline and list
  let current = new Int32Array(0);
  function apply(reason) {
    const a = performance.now();
    current = filter(ix, f);
    layer.setSelection(current);
    timeline.update(filter(ix, f, true), [f.from, f.to]);
    renderList();
    const ms = performance.now() - a;
    perf.last_redraw_ms = ms;
    perf.last_reason = reason;
    perf.redraws = (perf.redraws || 0) + 1;
    perf.shown = current.length;
    document.body.dataset.shown = String(current.length);
  }
  function renderList() {
    count.textContent = t("incidents_shown", { n: current.length, t: ix.n });
    const top = [...current].sort((a, b) => ix.t1[b] - ix.t1[a]).slice(0, 60);
    mount(listEl, top.map((i) => {
      const r = ix.list[i];
      const date = r.t0 && r.t1 && r.t0 !== r.t1 ? `${num(r.t0)} – ${num(r.t1)}` : num(r.t1 || r.t0 || "");
      return h("li", h("span.swatch", { style: `background:${COLORS[r.event_type] || "#777"}` }),
        h("a", { href: `#/incident/${encodeURIComponent(r.id)}`, translate: "no" }, r.title || r.id),
        h("span.muted", ` ${date} · `, h("span", { translate: "no" }, `${r.place || r.admin1 || ""} · ${r.member || ""}`)));
    }));
  }
  apply("first");
  perf.first_map_ms = performance.now() - t0;
  // How much of it was the node: the list's request until its last byte (Resource Timing).
  const rt = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/ui/api/incidents")).pop();
  if (rt) { perf.list_response_ms = rt.responseEnd - rt.startTime; perf.list_bytes = rt.encodedBodySize; }
  perf.count = ix.n;
  document.body.dataset.mapReady = "1";

  // Live: the cached list changed in place (an incident the user may see arrived, changed or
  // went): index it again and redraw everything under the filters as they are.
  const offFresh = onIncidentsChanged((fresh) => {
    if (fresh !== list) return;
    ix = index(list);
    layer.ix = ix;
    timeline.setIndex(ix);
    followSpan();
    fromIn.max = toIn.max = String(weeksSpan());
    syncSliders();
    for (const m of ix.members) if (![...memberSel.options].some((o) => o.value === m)) memberSel.append(h("option", { value: m, translate: "no" }, m));
    for (const id of ix.cells.keys()) {
      const o = [...cellSel.options].find((o) => o.value === id);
      if (o) o.textContent = cellCount(id); else cellSel.append(h("option", { value: id, translate: "no" }, cellCount(id)));
    }
    perf.count = ix.n;
    perf.live_updates = (perf.live_updates || 0) + 1;
    apply("live");
  });
  // What the page holds and shows, by id: for the browser tests and the console.
  window.__tandem.view = { ids: () => ix.list.map((r) => r.id), shown: () => [...current].map((i) => ix.list[i].id) };
  const onResize = () => timeline.draw();
  window.addEventListener("resize", onResize);
  return () => { offFresh(); window.removeEventListener("resize", onResize); removeMap(map); };
}

/** Spike rows flagged by any detector, whatever nesting the endpoint uses. */
function flattenSpikes(res) {
  const rows = [];
  const visit = (v) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") {
      if (v.admin1 && v.week && ("observed" in v)) {
        const flagged = (v.surge && v.surge.flagged) || (v.seasonal && v.seasonal.flagged) ||
          (v.trendfinder && /increas|spike|surge/i.test(String(v.trendfinder.class)));
        if (flagged) rows.push(v);
      } else Object.values(v).forEach(visit);
    }
  };
  visit(res);
  return rows;
}
