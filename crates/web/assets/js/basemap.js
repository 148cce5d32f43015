//! The offline base map: no tile server. Country outlines (Natural Earth via world-atlas, vendored),
//! the approximate governorates the node derives from its gazetteer (labelled as approximate),
//! and place labels in the chosen language.

import * as L from "../vendor/leaflet/leaflet-src.esm.js";
import { api } from "./api.js";
import { prefs, t } from "./i18n.js";

// Leaflet 1.9's canvas renderer can run a redraw that was queued for it just before its map was
// removed (a live update or a late data load touching a layer of a page the user already left):
// the redraw then reads the drawing context the removal deleted and throws. Such a redraw has
// nothing to draw, so every canvas of the UI is one that skips it.
const SafeCanvas = L.Canvas.extend({
  _redraw() { if (this._ctx) L.Canvas.prototype._redraw.call(this); },
});
/** A canvas renderer (as `L.canvas`) that ignores redraws once its map is gone. */
export const canvas = (options) => new SafeCanvas(options);

const cache = {};
function once(path) {
  if (!cache[path]) {
    cache[path] = fetch(path, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  }
  return cache[path];
}

/** A Leaflet map over `el` with the offline base layers; resolves once the outlines are drawn. */
export async function baseMap(el, { zoomControl = true } = {}) {
  const map = L.map(el, { zoomControl: false, preferCanvas: true, renderer: canvas(), zoomSnap: 0.5, attributionControl: true,
    minZoom: 4, maxZoom: 13, maxBounds: [[22, 20], [46, 66]], worldCopyJump: false });
  if (zoomControl) L.control.zoom({ position: prefs.lang === "ar" ? "topright" : "topleft" }).addTo(map);
  map.attributionControl.setPrefix(false);
  map.setView([34.8, 40.5], 6);
  const renderer = canvas({ padding: 0.3 });
  const [countries, governorates, places] = await Promise.all([
    once("/ui/data/countries.json"), once("/ui/data/governorates.json"), once("/ui/data/places.json")]);
  if (countries) {
    L.geoJSON(countries, { renderer, interactive: false,
      style: (f) => ({ color: "#5b6770", weight: f.properties.focus ? 1.6 : 0.8, fillColor: f.properties.focus ? "#f4f1ea" : "#e6e3dc", fillOpacity: 1 }),
    }).addTo(map);
    map.attributionControl.addAttribution("Natural Earth (world-atlas)");
  }
  if (governorates && governorates.features) {
    L.geoJSON(governorates, { renderer, interactive: false,
      style: () => ({ color: "#8a8f96", weight: 0.8, dashArray: "4 4", fill: false }) }).addTo(map);
    const note = L.control({ position: "bottomleft" });
    note.onAdd = () => Object.assign(L.DomUtil.create("div", "map-note"), { textContent: t("approx_gov") });
    note.addTo(map);
    map.attributionControl.addAttribution("GeoNames (CC BY 4.0)");
  }
  if (Array.isArray(places)) addLabels(map, places);
  return map;
}

/** Place labels: larger places first, fewer at low zoom; Arabic names in Arabic. */
function addLabels(map, places) {
  // Largest places first (by population where the gazetteer knows it, else by kind).
  const rank = (p) => -(p.population || 0) * 10 + ({ capital: 0, city: 1, admin: 1, town: 2 }[p.kind] ?? 3);
  const sorted = [...places].filter((p) => typeof p.lat === "number").sort((a, b) => rank(a) - rank(b));
  const layer = L.layerGroup().addTo(map);
  const draw = () => {
    layer.clearLayers();
    const z = map.getZoom();
    const limit = z < 6 ? 12 : z < 7 ? 30 : z < 8 ? 80 : 200;
    const bounds = map.getBounds().pad(0.1);
    const taken = [];
    let n = 0;
    for (const p of sorted) {
      if (n >= limit) break;
      if (!bounds.contains([p.lat, p.lon])) continue;
      const pt = map.latLngToContainerPoint([p.lat, p.lon]);
      if (taken.some((q) => Math.abs(q.x - pt.x) < 70 && Math.abs(q.y - pt.y) < 18)) continue;
      taken.push(pt);
      const name = prefs.lang === "ar" ? p.name_ar || p.name_en : p.name_en || p.name_ar;
      L.marker([p.lat, p.lon], { interactive: false, keyboard: false,
        icon: L.divIcon({ className: "place-label", html: "", iconSize: null }) })
        .addTo(layer).getElement()?.replaceChildren(Object.assign(document.createElement("span"), { textContent: name, translate: false }));
      n++;
    }
  };
  map.on("moveend zoomend", draw);
  draw();
}

/** Removes a map for good: its listeners first, so that a `moveend` Leaflet still has queued (a
 * window resize debounces one by 200 ms: `_sizeTimer`) finds nothing to call on a map whose
 * panes are gone. */
export function removeMap(map) {
  clearTimeout(map._sizeTimer);
  map.stop();
  map.off();
  map.remove();
}

export { L };
