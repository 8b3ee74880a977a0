// Force traces on a <canvas>: the last N seconds, one line per channel, events as marks.
"use strict";

const EVENT_COLOURS = {
  placed: "#1b7f3b", removed: "#b3261e", marker: "#6b4fbb", note: "#555555", tare: "#0b6e99",
  gap: "#d08000", disconnect: "#b3261e", reconnect: "#1b7f3b",
};

// First index i with t[i] >= x (t ascending).
function lowerBound(t, x) {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function niceStep(range, ticks) {
  const raw = range / Math.max(1, ticks);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

class Traces {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    return [r.width, r.height, dpr];
  }

  // view: {tEnd, window, unit, t: [], series: [{name, colour, values: [], width}],
  //        events: [{t, kind, text}], origin (time shown as 0), empty (message),
  //        yRange ([min, max], optional: else fitted to what is shown)}
  draw(view) {
    const [w, h, dpr] = this.resize();
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const big = document.body.classList.contains("present");  // projector: larger labels
    const fontPx = big ? 18 : 13, rowPx = fontPx + 4;
    const pad = { l: big ? 84 : 64, r: 14, t: 12, b: fontPx + 18 };
    const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
    const t0 = view.tEnd - view.window, t1 = view.tEnd;
    const last = view.tLast === undefined ? t1 : Math.min(t1, view.tLast);
    const i0 = Math.max(0, lowerBound(view.t, t0) - 1), i1 = lowerBound(view.t, last + 1e-9);
    let ymax = view.minRange || 10, ymin = 0;
    if (view.yRange) {  // a range shared with another panel (compare)
      [ymin, ymax] = view.yRange;
      ymax = Math.max(ymax, ymin + (view.minRange || 1));
    } else {
      for (const s of view.series) {
        for (let i = i0; i < i1; i++) {
          const v = s.values[i];
          if (!Number.isFinite(v)) continue;
          if (v > ymax) ymax = v;
          if (v < ymin) ymin = v;
        }
      }
      ymax *= 1.08;
      if (ymin < 0) ymin *= 1.08;
    }
    const x = (t) => pad.l + ((t - t0) / view.window) * pw;
    const y = (v) => pad.t + ph - ((v - ymin) / (ymax - ymin)) * ph;

    ctx.font = `${fontPx}px system-ui, sans-serif`;
    ctx.strokeStyle = "#e3e7ed";
    ctx.fillStyle = "#5d6776";
    ctx.lineWidth = 1;
    const ystep = niceStep(ymax - ymin, Math.max(2, Math.floor(ph / (fontPx * 3.6))));
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = Math.ceil(ymin / ystep) * ystep; v <= ymax; v += ystep) {
      ctx.beginPath(); ctx.moveTo(pad.l, y(v)); ctx.lineTo(pad.l + pw, y(v)); ctx.stroke();
      ctx.fillText(Number(v.toFixed(6)).toString(), pad.l - 8, y(v));
    }
    ctx.save();
    ctx.translate(fontPx, pad.t + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(view.unitLabel || view.unit, 0, 0);
    ctx.restore();
    const xstep = niceStep(view.window, Math.max(2, Math.floor(pw / (fontPx * 7))));
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const origin = view.origin || 0;
    for (let t = Math.ceil((t0 - origin) / xstep) * xstep; t + origin <= t1; t += xstep) {
      const px = x(t + origin);
      ctx.beginPath(); ctx.moveTo(px, pad.t); ctx.lineTo(px, pad.t + ph); ctx.stroke();
      ctx.fillText(view.timeLabel ? view.timeLabel(t) : `${Math.round(t)} s`, px, pad.t + ph + 6);
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.l, pad.t - 1, pw, ph + 2);
    ctx.clip();
    for (const s of view.series) this.line(s, view.t, i0, i1, x, y, pw);
    ctx.restore();

    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    const rowEnds = [-Infinity, -Infinity, -Infinity];  // labels close together go down a row
    for (const e of view.events) {
      if (e.t < t0 || e.t > last) continue;
      const px = x(e.t);
      ctx.strokeStyle = EVENT_COLOURS[e.kind] || "#777";
      ctx.fillStyle = ctx.strokeStyle;
      ctx.lineWidth = 2;
      ctx.setLineDash([5, 4]);
      ctx.beginPath(); ctx.moveTo(px, pad.t); ctx.lineTo(px, pad.t + ph); ctx.stroke();
      ctx.setLineDash([]);
      let label = e.text ? `${e.kind}: ${e.text}` : e.kind;
      if (label.length > 28) label = label.slice(0, 27) + "…";
      const width = ctx.measureText(label).width;
      let row = rowEnds.findIndex((end) => end < px);
      if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
      rowEnds[row] = px + 4 + width + 6;
      ctx.fillText(label, Math.min(px + 4, w - pad.r - width), pad.t + 3 + row * rowPx);
    }
    if (view.empty) {
      ctx.fillStyle = "#5d6776";
      ctx.textAlign = "center";
      ctx.font = "16px system-ui, sans-serif";
      ctx.fillText(view.empty, pad.l + pw / 2, pad.t + ph / 2);
    }
  }

  // One series; when there are more points than pixels, draw each pixel column's min and max.
  line(s, t, i0, i1, x, y, pw) {
    const ctx = this.ctx;
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = s.width || 2;
    ctx.beginPath();
    const n = i1 - i0;
    const limit = gapLimit(t, i0, i1);
    if (n <= pw * 2) {
      // A missing value (null) or a pause in the frames lifts the pen: never a made-up line.
      let pen = false, last = -Infinity;
      for (let i = i0; i < i1; i++) {
        const v = s.values[i];
        if (!Number.isFinite(v)) { pen = false; continue; }
        if (t[i] - last > limit) pen = false;
        if (pen) ctx.lineTo(x(t[i]), y(v)); else ctx.moveTo(x(t[i]), y(v));
        pen = true;
        last = t[i];
      }
    } else {
      let col = -1, lo = 0, hi = 0, first = true, last = -Infinity;
      for (let i = i0; i < i1; i++) {
        const c = Math.floor(x(t[i])), v = s.values[i];
        if (!Number.isFinite(v)) continue;
        if (t[i] - last > limit && col >= 0) {  // close the column before the pause, then lift
          if (first) ctx.moveTo(col, y(lo)); else ctx.lineTo(col, y(lo));
          ctx.lineTo(col, y(hi));
          col = -1; first = true;
        }
        last = t[i];
        if (c !== col) {
          if (col >= 0) {
            if (first) { ctx.moveTo(col, y(lo)); first = false; } else ctx.lineTo(col, y(lo));
            ctx.lineTo(col, y(hi));
          }
          col = c; lo = hi = v;
        } else { if (v < lo) lo = v; if (v > hi) hi = v; }
      }
      if (col >= 0) {
        if (first) ctx.moveTo(col, y(lo)); else ctx.lineTo(col, y(lo));
        ctx.lineTo(col, y(hi));
      }
    }
    ctx.stroke();
  }
}

// A pause between frames longer than this (s) is a gap: 0.25 s, or 5 usual frame intervals.
function gapLimit(t, i0, i1) {
  const d = [];
  for (let i = i0 + 1; i < i1 && d.length < 256; i++) d.push(t[i] - t[i - 1]);
  if (!d.length) return Infinity;
  d.sort((a, b) => a - b);
  return Math.max(0.25, 5 * d[d.length >> 1]);
}
