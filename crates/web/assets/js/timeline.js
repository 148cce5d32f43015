//! The timeline: weekly counts of the incidents passing every filter but time, spikes from the
//! analytics marked, uncertain dates (a window longer than a week) spread over their window as a
//! lighter band, and a brush: dragging selects the time window (the sliders stay in step and are
//! the keyboard way to do the same).

import { weekOf, isoDay } from "./incidents.js";
import { num, t } from "./i18n.js";

export class Timeline {
  constructor(canvas, ix, onBrush) {
    this.c = canvas;
    this.onBrush = onBrush;
    this.setIndex(ix);
    this.spikes = new Set();
    this.window = [ix.minDay, ix.maxDay];
    let start = null;
    const dayAt = (ev) => {
      const r = this.c.getBoundingClientRect();
      let f = (ev.clientX - r.left) / r.width;
      if (document.documentElement.dir === "rtl") f = 1 - f;
      return this.first + Math.round(Math.max(0, Math.min(1, f)) * this.weeks * 7);
    };
    canvas.addEventListener("pointerdown", (ev) => { start = dayAt(ev); canvas.setPointerCapture(ev.pointerId); });
    canvas.addEventListener("pointermove", (ev) => {
      if (start === null) return;
      const d = dayAt(ev);
      this.window = [Math.min(start, d), Math.max(start, d)];
      this.draw();
    });
    canvas.addEventListener("pointerup", (ev) => {
      if (start === null) return;
      const d = dayAt(ev);
      const a = Math.min(start, d), b = Math.max(start, d);
      start = null;
      if (b - a >= 7) onBrush(a, b);
    });
  }
  /** A new index (the list changed): the weeks span it. */
  setIndex(ix) {
    this.ix = ix;
    this.first = weekOf(ix.minDay);
    this.weeks = Math.max(1, Math.ceil((weekOf(ix.maxDay) - this.first) / 7) + 1);
  }
  setSpikes(weeks) { this.spikes = new Set(weeks); this.draw(); }
  update(sel, window) {
    this.sel = sel;
    this.window = window;
    this.draw();
  }
  draw() {
    const c = this.c, ix = this.ix, sel = this.sel || [];
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, hgt = c.clientHeight;
    if (!w) return;
    if (c.width !== w * dpr) { c.width = w * dpr; c.height = hgt * dpr; }
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const exact = new Float32Array(this.weeks), spread = new Float32Array(this.weeks);
    for (let k = 0; k < sel.length; k++) {
      const i = sel[k];
      const a = Math.floor((weekOf(ix.t0[i]) - this.first) / 7), b = Math.floor((weekOf(ix.t1[i]) - this.first) / 7);
      if (a < 0 || b >= this.weeks) continue;
      if (ix.t1[i] - ix.t0[i] <= 7) exact[a]++;
      else { const share = 1 / (b - a + 1); for (let q = a; q <= b; q++) spread[q] += share; }
    }
    let max = 1;
    for (let q = 0; q < this.weeks; q++) max = Math.max(max, exact[q] + spread[q]);
    const rtl = document.documentElement.dir === "rtl";
    const bw = w / this.weeks, top = 14, base = hgt - 16;
    const xOf = (q) => (rtl ? w - (q + 1) * bw : q * bw);
    // selected window
    const wa = (this.window[0] - this.first) / 7, wb = (this.window[1] - this.first) / 7;
    ctx.fillStyle = "rgba(0,114,178,.10)";
    const xa = rtl ? w - wb * bw : wa * bw, xb = rtl ? w - wa * bw : wb * bw;
    ctx.fillRect(xa, 0, Math.max(2, xb - xa), hgt);
    for (let q = 0; q < this.weeks; q++) {
      const he = ((base - top) * exact[q]) / max, hs = ((base - top) * spread[q]) / max;
      ctx.fillStyle = "#3a4a5a";
      ctx.fillRect(xOf(q), base - he, Math.max(1, bw - 0.3), he);
      ctx.fillStyle = "rgba(120,140,160,.45)";
      ctx.fillRect(xOf(q), base - he - hs, Math.max(1, bw - 0.3), hs);
      if (this.spikes.has(this.first + q * 7)) {
        ctx.fillStyle = "#c00";
        ctx.beginPath();
        const x = xOf(q) + bw / 2;
        ctx.moveTo(x, 2); ctx.lineTo(x - 4, 10); ctx.lineTo(x + 4, 10); ctx.fill();
      }
    }
    // year ticks
    ctx.fillStyle = "#333";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    for (let q = 0; q < this.weeks; q++) {
      const day = isoDay(this.first + q * 7);
      const prev = isoDay(this.first + (q - 1) * 7);
      if (q > 0 && day.slice(0, 4) !== prev.slice(0, 4)) {
        ctx.fillRect(xOf(q), base, 1, 4);
        ctx.fillText(num(day.slice(0, 4)), xOf(q), hgt - 3);
      }
    }
    c.setAttribute("aria-label", `${t("timeline")}: ${num(sel.length)}`);
  }
}
