//! The incident layer: one canvas, redrawn per view and per filter, with a pixel-grid clusterer.
//! DOM markers or SVG paths for 30,000 incidents take seconds; a canvas pass takes milliseconds.
//! Incidents are coloured by event type and sized by fatalities; an incident whose place is
//! uncertain is drawn as a circle of its `radius_km` (a governorate-precision incident is an
//! area, never a pin).

import { L } from "./basemap.js";
import { COLORS, EVENT_TYPES } from "./incidents.js";
import { num } from "./i18n.js";

const CELL = 48; // cluster grid, in CSS pixels
const DENSE = 5; // more incidents than this in one cell are drawn as a cluster

export const IncidentLayer = L.Layer.extend({
  initialize(ix, onPick) {
    this.ix = ix;
    this.sel = new Int32Array(0);
    this.onPick = onPick;
    this.hits = [];
  },
  onAdd(map) {
    this._map = map;
    this.canvas = L.DomUtil.create("canvas", "incident-canvas leaflet-zoom-hide");
    // Its own pane above the place labels (markers), so cluster counts stay readable.
    const pane = map.getPane("incidents") || map.createPane("incidents");
    pane.style.zIndex = 640;
    pane.appendChild(this.canvas);
    map.on("moveend zoomend resize viewreset", this.redraw, this);
    map.on("click", this._click, this);
    this.redraw();
  },
  onRemove(map) {
    this.canvas.remove();
    map.off("moveend zoomend resize viewreset", this.redraw, this);
    map.off("click", this._click, this);
  },
  setSelection(sel) {
    this.sel = sel;
    this.redraw();
  },
  redraw() {
    const map = this._map;
    if (!map) return;
    const size = map.getSize();
    const dpr = window.devicePixelRatio || 1;
    const c = this.canvas;
    L.DomUtil.setPosition(c, map.containerPointToLayerPoint([0, 0]));
    if (c.width !== size.x * dpr || c.height !== size.y * dpr) {
      c.width = size.x * dpr; c.height = size.y * dpr;
      c.style.width = `${size.x}px`; c.style.height = `${size.y}px`;
    }
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);
    const zoom = map.getZoom();
    const scale = 2 ** zoom;
    const origin = map.getPixelBounds().min;
    const ix = this.ix, sel = this.sel;
    // metres per CSS pixel at the equator at this zoom; times cos(lat) below
    const mpp = 40075016.686 / (256 * scale);
    const grid = new Map();
    const singles = [];
    for (let k = 0; k < sel.length; k++) {
      const i = sel[k];
      const x = ix.x[i] * scale - origin.x, y = ix.y[i] * scale - origin.y;
      if (!(x > -60 && y > -60 && x < size.x + 60 && y < size.y + 60)) continue;
      const key = Math.floor(x / CELL) * 4096 + Math.floor(y / CELL);
      let g = grid.get(key);
      if (!g) { g = { n: 0, sx: 0, sy: 0, fat: 0, types: new Int32Array(EVENT_TYPES.length), items: [] }; grid.set(key, g); }
      g.n++; g.sx += x; g.sy += y; g.fat += ix.fat[i];
      if (ix.type[i] >= 0) g.types[ix.type[i]]++;
      if (g.n <= DENSE) g.items.push(i);
    }
    const hits = [];
    const clusters = [];
    // Grid cells are merged with neighbours whose discs would overlap (largest first), so
    // cluster discs never cover each other; what is left sparse is drawn incident by incident.
    const cells = [...grid.values()].map((g) => ({ ...g, x: g.sx / g.n, y: g.sy / g.n }))
      .sort((a, b) => b.n - a.n);
    for (let a = 0; a < cells.length; a++) {
      const A = cells[a];
      if (!A.n) continue;
      for (let b = a + 1; b < cells.length; b++) {
        const B = cells[b];
        if (!B.n || (A.n + B.n <= DENSE)) continue;
        if (Math.hypot(A.x - B.x, A.y - B.y) < discRadius(A.n) + discRadius(B.n) + 2) {
          A.sx += B.sx; A.sy += B.sy; A.n += B.n; A.fat += B.fat;
          for (let k = 0; k < A.types.length; k++) A.types[k] += B.types[k];
          A.items = A.items.concat(B.items);
          A.x = A.sx / A.n; A.y = A.sy / A.n;
          B.n = 0;
          b = a; // the grown disc may now reach cells already passed
        }
      }
    }
    for (const g of cells) {
      if (!g.n) continue;
      if (g.n > DENSE) clusters.push(g);
      else singles.push(...g.items);
    }
    // Uncertainty areas first (underneath), then points, then clusters on top.
    ctx.lineWidth = 1;
    const points = [];
    for (const i of singles) {
      const x = ix.x[i] * scale - origin.x, y = ix.y[i] * scale - origin.y;
      const color = COLORS[EVENT_TYPES[ix.type[i]]] || "#555";
      const rpx = (ix.radius[i] * 1000) / (mpp * Math.cos((ix.lat[i] * Math.PI) / 180));
      if (rpx > 4) {
        ctx.beginPath();
        ctx.arc(x, y, rpx, 0, 2 * Math.PI);
        ctx.fillStyle = hexA(color, 0.12);
        ctx.strokeStyle = hexA(color, 0.8);
        ctx.setLineDash([4, 3]);
        ctx.fill(); ctx.stroke();
        ctx.setLineDash([]);
        hits.push({ x, y, r: Math.min(rpx, 20), i });
      } else {
        points.push([x, y, i, color]);
      }
    }
    for (const [x, y, i, color] of points) {
      const r = 3 + Math.min(9, 1.6 * Math.sqrt(ix.fat[i]));
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = hexA(color, 0.85);
      ctx.strokeStyle = "#1b1b1b";
      ctx.fill(); ctx.stroke();
      hits.push({ x, y, r: r + 2, i });
    }
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const g of clusters) {
      const x = g.sx / g.n, y = g.sy / g.n;
      let best = 0;
      for (let k = 1; k < g.types.length; k++) if (g.types[k] > g.types[best]) best = k;
      const r = discRadius(g.n);
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = hexA(COLORS[EVENT_TYPES[best]], 0.78);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 2;
      ctx.fill(); ctx.stroke();
      ctx.lineWidth = 1;
      ctx.fillStyle = "#111";
      const label = num(g.n > 9999 ? Math.round(g.n / 1000) + "k" : g.n);
      ctx.strokeStyle = "rgba(255,255,255,.9)";
      ctx.lineWidth = 3;
      ctx.strokeText(label, x, y);
      ctx.fillText(label, x, y);
      ctx.lineWidth = 1;
      hits.push({ x, y, r, cluster: true });
    }
    this.hits = hits;
    this.drawn = { singles: singles.length, clusters: clusters.length };
  },
  _click(e) {
    if (this.picking === false) return; // a zone being drawn takes the clicks
    const p = e.containerPoint;
    let best = null, bd = Infinity;
    for (const h of this.hits) {
      const d = Math.hypot(h.x - p.x, h.y - p.y);
      if (d <= h.r && (d < bd || (best && best.cluster && !h.cluster))) { best = h; bd = d; }
    }
    if (!best) return;
    if (best.cluster) this._map.setZoomAround(p, Math.min(this._map.getZoom() + 2, this._map.getMaxZoom()));
    else this.onPick(best.i);
  },
});

function discRadius(n) {
  return 10 + Math.min(16, 3.2 * Math.log2(n));
}

function hexA(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
}
