//! The incident list held in typed arrays for fast filtering and drawing (30,000 incidents:
//! one pass per filter change), the event-type palette, and the filter rule itself.

export const EVENT_TYPES = ["Battles", "Explosions/Remote violence", "Violence against civilians",
  "Protests", "Riots", "Strategic developments"];
// Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
export const COLORS = { "Battles": "#d55e00", "Explosions/Remote violence": "#cc79a7",
  "Violence against civilians": "#0072b2", "Protests": "#009e73", "Riots": "#e69f00",
  "Strategic developments": "#56b4e9" };
export const GRADES = ["A1", "B2", "C3", "D4", "E5"];

const DAY = 86400000;
export function dayNumber(iso) {
  if (!iso) return NaN;
  const d = Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10));
  return Math.floor(d / DAY);
}
export function isoDay(n) {
  return new Date(n * DAY).toISOString().slice(0, 10);
}
/** The Monday of the week holding day `n` (day 0, 1970-01-01, was a Thursday). */
export function weekOf(n) {
  return n - ((n + 3) % 7);
}

/** Columnar copy of the incidents: what the map, the timeline and the list read. */
export function index(list) {
  const n = list.length;
  const ix = {
    list, n,
    t0: new Int32Array(n), t1: new Int32Array(n), type: new Int8Array(n), fat: new Float32Array(n),
    x: new Float64Array(n), y: new Float64Array(n), lat: new Float64Array(n), radius: new Float32Array(n),
    grade: new Int8Array(n), members: [], cells: new Map(), minDay: Infinity, maxDay: -Infinity,
  };
  const members = new Map();
  for (let i = 0; i < n; i++) {
    const r = list[i];
    let a = dayNumber(r.t0), b = dayNumber(r.t1);
    if (Number.isNaN(b)) b = a;
    if (Number.isNaN(a)) a = b;
    ix.t0[i] = a; ix.t1[i] = b;
    if (!Number.isNaN(a)) { ix.minDay = Math.min(ix.minDay, a); ix.maxDay = Math.max(ix.maxDay, b); }
    ix.type[i] = EVENT_TYPES.indexOf(r.event_type);
    ix.fat[i] = r.fatalities ?? 0;
    const lat = r.lat, lon = r.lon;
    if (typeof lat === "number" && typeof lon === "number") {
      // Spherical Mercator at zoom 0 (256 px world): scale by 2^zoom when drawing.
      ix.x[i] = ((lon + 180) / 360) * 256;
      const s = Math.sin((lat * Math.PI) / 180);
      ix.y[i] = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
      ix.lat[i] = lat;
    } else {
      ix.x[i] = NaN; ix.y[i] = NaN;
    }
    ix.radius[i] = r.radius_km ?? 0;
    const g = typeof r.grading === "string" && r.grading.length >= 2 ? r.grading : null;
    ix.grade[i] = g ? Math.max("ABCDEF".indexOf(g[0]) + 1, +g[1] || 6) : 9;
    if (r.member && !members.has(r.member)) members.set(r.member, members.size);
    for (const c of r.cells || []) ix.cells.set(c, (ix.cells.get(c) || 0) + 1);
  }
  ix.members = [...members.keys()].sort();
  ix.memberOf = list.map((r) => r.member);
  if (!Number.isFinite(ix.minDay)) { ix.minDay = dayNumber("2014-01-01"); ix.maxDay = ix.minDay + 365; }
  return ix;
}

/** Indices of the incidents passing the filter; `ignoreTime` serves the timeline's own counts. */
export function filter(ix, f, ignoreTime = false) {
  const out = new Int32Array(ix.n);
  let k = 0;
  const types = f.types; // Set of type indices, or null for all
  const grade = f.grade ? Math.max("ABCDEF".indexOf(f.grade[0]) + 1, +f.grade[1]) : 99;
  for (let i = 0; i < ix.n; i++) {
    if (!ignoreTime && (ix.t1[i] < f.from || ix.t0[i] > f.to)) continue;
    if (types && !types.has(ix.type[i])) continue;
    if (ix.grade[i] > grade) continue;
    if (f.member && ix.memberOf[i] !== f.member) continue;
    if (f.cell && !(ix.list[i].cells || []).includes(f.cell)) continue;
    out[k++] = i;
  }
  return out.subarray(0, k);
}
