//! Editing a watch zone on the map: a radius zone's centre and edge, a polygon's corners, as
//! handles that the mouse drags and the keyboard moves (Tab to a handle, arrow keys; Shift for
//! larger steps), beside number fields holding the same coordinates (what a screen-reader user
//! edits), and the name. Saved with `PATCH /api/tandem/watch-zones/{id}/` (the CSRF header as
//! every change, through `api`). A governorate or named-area zone is only renamed here.

import { h, mount, field } from "./dom.js";
import { api } from "./api.js";
import { t } from "./i18n.js";
import { L } from "./basemap.js";

const KM_PER_DEG = 111.32;
const STYLE = { color: "#6a3d9a", weight: 2.5, dashArray: "6 4", fill: true, fillOpacity: 0.08, interactive: false };

/** Starts editing `zone` on `map`, its form in `box`; returns a function that stops editing. */
export function editZone({ map, zone, box, renderer, onSaved, onClose }) {
  const g = zone.geometry || {};
  const kind = g.kind === "radius" || g.kind === "polygon" ? g.kind : "other";
  const ed = { lat: g.lat, lon: g.lon, r: g.radius_km, ring: (g.ring || []).map(([lon, lat]) => [lat, lon]) };
  if (!map.getPane("zonehandles")) map.createPane("zonehandles").style.zIndex = 700;
  const lyr = L.layerGroup().addTo(map);
  let shape = null;
  const handles = [];
  const inputs = [];

  const round = (x) => Math.round(x * 1e5) / 1e5;
  const edgeOf = () => [ed.lat, ed.lon + ed.r / (KM_PER_DEG * Math.cos((ed.lat * Math.PI) / 180))];
  const sync = (from) => {
    if (kind === "radius") {
      shape.setLatLng([ed.lat, ed.lon]);
      shape.setRadius(ed.r * 1000);
      if (from !== handles[0]) handles[0].setLatLng([ed.lat, ed.lon]);
      if (from !== handles[1]) handles[1].setLatLng(edgeOf());
    } else if (kind === "polygon") {
      shape.setLatLngs(ed.ring);
      ed.ring.forEach((p, k) => { if (from !== handles[k]) handles[k].setLatLng(p); });
    }
    for (const [input, read] of inputs) if (document.activeElement !== input) input.value = String(round(read()));
  };
  const handle = (at, label, cls, onMove) => {
    const m = L.marker(at, { pane: "zonehandles", draggable: true, keyboard: true, title: label,
      icon: L.divIcon({ className: `zone-handle ${cls}`, iconSize: [16, 16] }) }).addTo(lyr);
    m.on("drag", () => { onMove(m.getLatLng()); sync(m); });
    m.on("dragend", () => sync(null));
    const el = m.getElement();
    if (el) {
      el.setAttribute("role", "button");
      el.setAttribute("aria-label", `${label}: ${t("zone_handle_keys")}`);
      // Arrow keys move the handle by 10 px on screen (50 with Shift), whatever the zoom.
      el.addEventListener("keydown", (e) => {
        const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
        if (!d) return;
        e.preventDefault();
        e.stopPropagation();
        const step = e.shiftKey ? 50 : 10;
        const p = map.latLngToContainerPoint(m.getLatLng()).add([d[0] * step, d[1] * step]);
        const ll = map.containerPointToLatLng(p);
        m.setLatLng(ll);
        onMove(ll);
        sync(m);
      });
    }
    handles.push(m);
    return m;
  };
  const number = (id, label, read, write, step) => {
    const input = h(`input#${id}`, { type: "number", step, value: String(round(read())) });
    input.addEventListener("input", () => {
      const v = Number(input.value);
      if (input.value === "" || !Number.isFinite(v)) return;
      write(v);
      sync(null);
    });
    inputs.push([input, read]);
    return h("span.mini", h("label", { for: id }, label), input);
  };

  const coords = [];
  if (kind === "radius") {
    shape = L.circle([ed.lat, ed.lon], { ...STYLE, renderer, radius: ed.r * 1000 }).addTo(lyr);
    handle([ed.lat, ed.lon], t("zone_centre"), "centre", (ll) => { ed.lat = ll.lat; ed.lon = ll.lng; });
    handle(edgeOf(), t("zone_edge"), "edge", (ll) => { ed.r = Math.max(0.1, map.distance([ed.lat, ed.lon], ll) / 1000); });
    coords.push(h("div.row", number("zone-edit-lat", t("latitude"), () => ed.lat, (v) => (ed.lat = v), "0.001"),
      number("zone-edit-lon", t("longitude"), () => ed.lon, (v) => (ed.lon = v), "0.001"),
      number("zone-edit-radius", t("radius_km"), () => ed.r, (v) => (ed.r = Math.max(0.1, v)), "1")));
  } else if (kind === "polygon") {
    shape = L.polygon(ed.ring, { ...STYLE, renderer }).addTo(lyr);
    ed.ring.forEach((p, k) => {
      const label = t("zone_corner", { n: k + 1 });
      handle(p, label, "corner", (ll) => { ed.ring[k] = [ll.lat, ll.lng]; });
      coords.push(h("div.row.corner", h("span.muted", label),
        number(`zone-edit-c${k}-lat`, t("latitude"), () => ed.ring[k][0], (v) => (ed.ring[k][0] = v), "0.001"),
        number(`zone-edit-c${k}-lon`, t("longitude"), () => ed.ring[k][1], (v) => (ed.ring[k][1] = v), "0.001")));
    });
  }

  const name = h("input#zone-edit-name", { value: zone.name });
  const err = h("p.error#zone-edit-err", { role: "alert" });
  const stop = () => {
    lyr.remove();
    mount(box);
    box.hidden = true;
  };
  const save = async () => {
    err.textContent = "";
    const body = { name: name.value };
    // Coordinates as they are (a corner not moved stays exactly where it was); the fields
    // only show them rounded.
    if (kind === "radius") { body.point = [ed.lat, ed.lon]; body.radius_km = Math.round(ed.r * 100) / 100; }
    if (kind === "polygon") {
      const ring = ed.ring.map(([lat, lon]) => [lon, lat]);
      body.geometry = { type: "Polygon", coordinates: [[...ring, ring[0]]] };
    }
    try {
      const z = await api(`/api/tandem/watch-zones/${encodeURIComponent(zone.id)}/`, { method: "PATCH", body });
      stop();
      onSaved(z);
    } catch (e) { err.textContent = e.message; }
  };
  mount(box, h("h3", `${t("zone_edit")}: `, h("span", { translate: "no" }, zone.name)),
    field(t("zone_name"), name),
    kind === "other" ? null : h("p.hint", t("zone_edit_hint")),
    coords, err,
    h("div.row", h("button.primary#zone-edit-save", { type: "button", onclick: save }, t("save")),
      h("button#zone-edit-cancel", { type: "button", onclick: () => { stop(); onClose(); } }, t("cancel"))));
  box.hidden = false;
  if (shape) map.fitBounds(shape.getBounds().pad(0.4), { maxZoom: 10, animate: false });
  sync(null);
  name.focus();
  return stop;
}
