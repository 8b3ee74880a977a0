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

class Traces {
  static all = [];  // every trace panel of the page (tests read their ticks)

  constructor(canvas) {
    Traces.all.push(this);
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.labels = [];  // the event labels drawn: {x, y, w, h, text} in CSS px (tests read them)
    this.marks = [];  // every event line drawn, labelled or not: {x, text}
    this.fontPx = 13;
    // its size on the page, kept by a ResizeObserver (which draws it again at a new size), so a
    // drawing on every animation frame forces no layout
    this.box = null;
    new ResizeObserver(([entry]) => {
      const b = entry.borderBoxSize && entry.borderBoxSize[0];
      const box = b ? { width: b.inlineSize, height: b.blockSize }
        : { width: entry.contentRect.width, height: entry.contentRect.height };
      if (this.box && box.width === this.box.width && box.height === this.box.height) return;
      this.box = box;
      if (this.lastView) this.draw(this.lastView);
    }).observe(canvas);
    // An event's whole text on hover: a label cut short, or a line whose label had no room.
    canvas.addEventListener("mousemove", (e) => {
      const r = canvas.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      const hit = this.labels.find((b) => x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h)
        || this.marks.reduce((best, m) => (Math.abs(m.x - x) <= 6 &&
          (!best || Math.abs(m.x - x) < Math.abs(best.x - x)) ? m : best), null);
      canvas.title = hit ? hit.text : "";
    });
  }

  resize() {
    const r = this.box || this.canvas.getBoundingClientRect();
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
  //        yRange ([min, max], optional: else fitted to what is shown),
  //        cursor (a time to mark with a solid line, optional)}
  draw(view) {
    this.lastView = view;
    const [w, h, dpr] = this.resize();
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    // projector: labels as large as the page's text, which follows the screen
    const fontPx = this.fontPx = presenting() ? Math.round(rootPx()) : 13;
    const rowPx = fontPx + 6;
    ctx.font = `${fontPx}px system-ui, sans-serif`;
    const pad = { l: 0, r: 14, t: 12, b: fontPx + 18 };
    const ph = h - pad.t - pad.b;
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
    // ticks no finer than the unit can mean, labelled by the one rounding rule (common.js)
    const yaxis = axisStep(ymax - ymin, Math.max(2, Math.floor(ph / (fontPx * 3.6))), view.unit);
    const yticks = tickValues(ymin, ymax, yaxis).map((v) => [v, tickLabel(v, yaxis)]);
    this.ticks = { y: yticks.map(([, text]) => text), yUnit: view.unit, x: [] };  // tests read
    // the left margin holds the widest tick label and the rotated unit
    pad.l = Math.ceil(Math.max(0, ...yticks.map(([, text]) => ctx.measureText(text).width))
      + 2 * fontPx + 8);
    const pw = w - pad.l - pad.r;
    const x = (t) => pad.l + ((t - t0) / view.window) * pw;
    const y = (v) => pad.t + ph - ((v - ymin) / (ymax - ymin)) * ph;

    ctx.strokeStyle = "#e3e7ed";
    ctx.fillStyle = "#5d6776";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const [v, text] of yticks) {
      ctx.beginPath(); ctx.moveTo(pad.l, y(v)); ctx.lineTo(pad.l + pw, y(v)); ctx.stroke();
      ctx.fillText(text, pad.l - 8, y(v));
    }
    ctx.save();
    ctx.translate(fontPx, pad.t + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(view.unitLabel || view.unit, 0, 0);
    ctx.restore();
    const xaxis = axisStep(view.window, Math.max(2, Math.floor(pw / (fontPx * 7))), "s");
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const origin = view.origin || 0;
    for (const t of tickValues(t0 - origin, t1 - origin, xaxis)) {
      const px = x(t + origin);
      ctx.beginPath(); ctx.moveTo(px, pad.t); ctx.lineTo(px, pad.t + ph); ctx.stroke();
      const text = `${tickLabel(t, xaxis)} s`;
      this.ticks.x.push(text);
      const half = ctx.measureText(text).width / 2;  // the last label kept inside the canvas
      ctx.fillText(text, Math.min(px, w - half - 2), pad.t + ph + 6);
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.l, pad.t - 1, pw, ph + 2);
    ctx.clip();
    for (const s of view.series) this.line(s, view.t, i0, i1, x, y, pw);
    ctx.restore();

    this.drawEvents(view.events, t0, last, x, pad, w, ph, fontPx, rowPx);
    this.plot = { left: pad.l, width: pw, t0, window: view.window, origin };
    if (Number.isFinite(view.cursor) && view.cursor >= t0 && view.cursor <= t1) {
      ctx.strokeStyle = "#1d2430";  // where a synchronised playback is
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x(view.cursor), pad.t); ctx.lineTo(x(view.cursor), pad.t + ph);
      ctx.stroke();
    }
    if (view.empty) {
      ctx.fillStyle = "#5d6776";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.font = `${Math.round(fontPx * 1.2)}px system-ui, sans-serif`;
      ctx.fillText(view.empty, pad.l + pw / 2, pad.t + ph / 2);
    }
  }

  // Each event a dashed line with its label near the top. Labels close together go down a row;
  // when every row is taken at that point the label is left out (never drawn over another),
  // and the whole text shows on hover over the line or the label.
  drawEvents(events, t0, last, x, pad, w, ph, fontPx, rowPx) {
    const ctx = this.ctx;
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    const rows = Math.max(1, Math.min(3, Math.floor(ph / 3 / rowPx)));
    const rowEnds = new Array(rows).fill(-Infinity);
    this.labels = [];
    this.marks = [];
    for (const e of events) {
      if (e.t < t0 || e.t > last) continue;
      const px = x(e.t);
      const full = e.text ? `${e.kind}: ${e.text}` : e.kind;
      this.marks.push({ x: px, text: full });
      ctx.strokeStyle = EVENT_COLOURS[e.kind] || "#777";
      ctx.lineWidth = 2;
      ctx.setLineDash([5, 4]);
      ctx.beginPath(); ctx.moveTo(px, pad.t); ctx.lineTo(px, pad.t + ph); ctx.stroke();
      ctx.setLineDash([]);
      const label = full.length > 28 ? full.slice(0, 27) + "…" : full;
      const width = ctx.measureText(label).width + 6;
      const lx = Math.max(pad.l, Math.min(px + 2, w - pad.r - width));
      const row = rowEnds.findIndex((end) => end <= lx);
      if (row < 0) continue;  // no room: the line stays, its text is on hover
      rowEnds[row] = lx + width + 4;
      const box = { x: lx, y: pad.t + 2 + row * rowPx, w: width, h: rowPx - 2, text: full };
      this.labels.push(box);
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      ctx.fillRect(box.x, box.y, box.w, box.h);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(label, box.x + 3, box.y + 2);
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
