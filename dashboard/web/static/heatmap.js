// A pressure mat's newest frame as a heat map on a <canvas>, with its centre of pressure.
"use strict";

// The one colour map of every mat picture (GET /api/colourmap: the stored figures' own), as a
// table of 256 RGB colours from the low end of the scale to its high end.
let HEAT_LUT = null;

async function loadColourMap() {
  if (!HEAT_LUT) {
    const map = await api("/api/colourmap");
    HEAT_LUT = { name: map.name, rgb: Uint8Array.from(map.colours.flat()) };
  }
  return HEAT_LUT;
}

// A sensel's place on the colour scale, 0..255, from the sensor's low end (raw_min) to the
// scale's top (mat.top, raw; else the sensor's high end); a replay's frames come as levels
// 0..mat.levels of [raw_min, mat.span_top] (mat.missing where there is none). -1: missing.
function heatIndex(mat, v) {
  const low = mat.raw_min, top = mat.top === undefined ? mat.raw_max : mat.top;
  if (mat.levels) {
    if (v === mat.missing) return -1;
    v = low + (v / mat.levels) * (mat.span_top - low);
  } else if (v === null || Number.isNaN(v)) return -1;  // NaN: a missing sensel
  const f = (v - low) / (top - low || 1);
  return Math.round(Math.max(0, Math.min(1, f)) * 255);
}

// The top of a heat map's colour scale: the highest sensel shown so far, rounded up to 1, 2,
// 2.5 or 5 times a power of ten, never above the sensor's range; it only grows, so one colour
// means one value from frame to frame.
function scaleTop(previous, mat, highest) {
  const span = Math.max(1, highest - mat.raw_min);
  const p = Math.pow(10, Math.floor(Math.log10(span)));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= span);
  return Math.max(previous || 0, Math.min(mat.raw_max, mat.raw_min + nice));
}

function highestOf(values, skip) {
  let high = -Infinity;
  for (const v of values) if (v !== skip && v > high) high = v;
  return high;
}

function heatRGB(mat, v) {
  const i = heatIndex(mat, v);
  if (i < 0) return "rgb(255,255,255)";
  const c = HEAT_LUT.rgb;
  return `rgb(${c[3 * i]},${c[3 * i + 1]},${c[3 * i + 2]})`;
}

// A live mat frame (a binary message, docs/dashboard.md): "SMAT" framing (matframes.js's
// readFramed) of the facts, then rows x cols values of type `dtype`, little-endian. Returns the
// facts with `values`, as the session API gives.
const MAT_ARRAYS = { uint8: Uint8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
  int8: Int8Array, int64: BigInt64Array, uint64: BigUint64Array };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeMatFrame(buffer) {
  const { head: mat, start } = readFramed(buffer, "SMAT", "live stream mat frame");
  const Type = MAT_ARRAYS[mat.dtype];
  if (!Type) throw new Error(`live stream: a mat frame of unknown type ${mat.dtype}`);
  const n = mat.rows * mat.cols;
  let values;
  if (LITTLE_ENDIAN) {
    values = new Type(buffer, start, n);
  } else {  // typed arrays read the platform's order: swap through a DataView
    const bytes = Type.BYTES_PER_ELEMENT, swapped = new Uint8Array(n * bytes);
    const src = new Uint8Array(buffer, start, n * bytes);
    for (let i = 0; i < n * bytes; i += bytes) {
      for (let k = 0; k < bytes; k++) swapped[i + k] = src[i + bytes - 1 - k];
    }
    values = new Type(swapped.buffer);
  }
  mat.values = Type === BigInt64Array || Type === BigUint64Array ? Array.from(values, Number) : values;
  return mat;
}

// Where the picture goes on a canvas of box.width x box.height: the edges' words around it and
// the colour scale at its right. {x0, y0, cell, bar: {x, y, w, h}, fontPx}.
function heatLayout(box, mat, fontPx) {
  const side = Math.round(fontPx * 1.7);  // the edges' words, the side ones turned
  const bar = { w: Math.round(fontPx * 0.9), label: Math.round(fontPx * 3.6) };
  const right = side + 8 + bar.w + 6 + bar.label;
  const cell = Math.max(1, Math.min((box.width - side - right) / mat.cols,
    (box.height - side - fontPx) / mat.rows));
  const w = cell * mat.cols, h = cell * mat.rows;
  const x0 = side + (box.width - side - right - w) / 2, y0 = side + (box.height - side - fontPx - h) / 2;
  return { x0, y0, cell, fontPx,
    bar: { x: x0 + w + side + 8, y: y0, w: bar.w, h } };
}

// One mat frame as a heat map: head at the top, the patient's right on the left (the server
// sends every frame turned this way, with the words for its edges), in the one colour map with
// its scale and unit; the block regions, the centre of pressure and its trail (opts.trail: the
// last positions, oldest first, in the picture's sensel coordinates).
//
// A drawing is cheap enough for every animation frame (bench/heatdraw.py): the canvas's size
// comes from a ResizeObserver (no layout forced), the sensels go through a table of packed
// colours into one kept image, and what changes only with the size, the scale or the regions
// (the edges' words, the colour scale, the regions) is one kept layer put over it.
function drawHeatmap(canvas, mat, opts = {}) {
  canvas._last = [mat, opts];  // drawn again at a new size
  if (!HEAT_LUT) return;
  if (opts.top !== undefined) mat.top = opts.top;
  const H = heatState(canvas), box = H.box;
  const dpr = window.devicePixelRatio || 1;
  const width = Math.round(box.width * dpr), height = Math.round(box.height * dpr);
  if (!width || !height) return;  // not on the page yet: its ResizeObserver draws it there
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  if (HEAT_FONT === null) HEAT_FONT = presenting() ? Math.round(rootPx()) : 13;  // a projector's
  const L = canvas._layout = heatLayout(box, mat, HEAT_FONT);
  const ctx = H.ctx;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(heatImage(H, mat), L.x0, L.y0, L.cell * mat.cols, L.cell * mat.rows);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(heatLayer(H, mat, L, dpr), 0, 0);
  L.labels = H.labels;  // the regions' word boxes, {x, y, w, h} in CSS px (tests read them)
  L.edges = H.edges;  // and the edges' words' boxes
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  // The centre of pressure and its trail come in full-resolution sensels of the picture; the
  // image may be block means of factor x factor sensels.
  const f = mat.factor || 1;
  const px = (col) => L.x0 + (col / f) * L.cell, py = (row) => L.y0 + (row / f) * L.cell;
  const trail = opts.trail || [];
  if (trail.length > 1) {  // where the centre of pressure has been: white under, dark over
    for (const [lineWidth, colour] of [[4, "rgba(255,255,255,0.9)"], [2, "#d6336c"]]) {
      ctx.lineWidth = lineWidth;
      ctx.strokeStyle = colour;
      ctx.beginPath();
      for (let k = 0; k < trail.length; k++) {
        const [row, col] = trail[k];
        if (k) ctx.lineTo(px(col), py(row)); else ctx.moveTo(px(col), py(row));
      }
      ctx.stroke();
    }
  }
  if (mat.cop) {  // a ringed cross, readable on any colour
    const cx = px(mat.cop.col), cy = py(mat.cop.row);
    ctx.lineWidth = 4;
    ctx.strokeStyle = "#fff";
    copMark(ctx, cx, cy);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#111";
    copMark(ctx, cx, cy);
  }
}

// The labels' size: 13 px, or the root's on a projector; found again after a resize (which
// presentation mode sends).
let HEAT_FONT = null;
window.addEventListener("resize", () => { HEAT_FONT = null; });

// What a canvas's heat map keeps between drawings: its context, its size on the page (kept up
// to date by a ResizeObserver, which draws it again at a new size), its image and its layer.
function heatState(canvas) {
  let H = canvas._heat;
  if (!H) {
    const r = canvas.getBoundingClientRect();
    H = canvas._heat = { ctx: canvas.getContext("2d"), box: { width: r.width, height: r.height },
      image: null, pixels: null, colours: null, coloursKey: "", layer: null, layerKey: "" };
    new ResizeObserver(([entry]) => {
      const b = entry.borderBoxSize && entry.borderBoxSize[0];
      const box = b ? { width: b.inlineSize, height: b.blockSize }
        : { width: entry.contentRect.width, height: entry.contentRect.height };
      if (box.width === H.box.width && box.height === H.box.height) return;
      H.box = box;
      if (canvas._last) drawHeatmap(canvas, ...canvas._last);
    }).observe(canvas);
  }
  return H;
}

// The colour map as packed RGBA pixels (an ImageData's bytes seen as 32-bit words), and white
// for a missing sensel.
function packed(r, g, b) {
  return LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0
    : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
}
let HEAT_PACKED = null;
const HEAT_WHITE = packed(255, 255, 255);

// The sensels as an image of their own size (scaled up without smoothing where it is drawn).
// A replay's frame is levels 0..255: its colours are one table of 256, made again only when
// the levels' range or the scale's top change.
function heatImage(H, mat) {
  if (!HEAT_PACKED) {
    const c = HEAT_LUT.rgb;
    HEAT_PACKED = Uint32Array.from({ length: 256 }, (_, i) => packed(c[3 * i], c[3 * i + 1], c[3 * i + 2]));
  }
  const n = mat.rows * mat.cols;
  if (!H.image || H.image.width !== mat.cols || H.image.height !== mat.rows) {
    H.image = new ImageData(mat.cols, mat.rows);
    H.pixels = new Uint32Array(H.image.data.buffer);
  }
  const out = H.pixels, values = mat.values;
  if (mat.levels) {
    const key = `${mat.raw_min}|${mat.span_top}|${mat.levels}|${mat.missing}|${mat.top}`;
    if (key !== H.coloursKey) {
      H.colours = Uint32Array.from({ length: 256 }, (_, level) => {
        const i = heatIndex(mat, level);
        return i < 0 ? HEAT_WHITE : HEAT_PACKED[i];
      });
      H.coloursKey = key;
    }
    const colours = H.colours;
    for (let k = 0; k < n; k++) out[k] = colours[values[k]];
  } else {
    for (let k = 0; k < n; k++) {
      const i = heatIndex(mat, values[k]);
      out[k] = i < 0 ? HEAT_WHITE : HEAT_PACKED[i];
    }
  }
  const scratch = heatmapScratch(mat.cols, mat.rows);
  scratch.getContext("2d").putImageData(H.image, 0, 0);
  return scratch;
}

// What lies over the image and changes only with the canvas's size, the scale or the regions:
// the frame's border, the block regions with their words, the edges' words and the colour
// scale; drawn again only when one of those changes.
function heatLayer(H, mat, L, dpr) {
  const canvas = H.ctx.canvas;
  const key = [canvas.width, canvas.height, dpr, L.fontPx, mat.rows, mat.cols, mat.factor,
    mat.top, mat.raw_min, mat.raw_max, mat.scale, mat.offset, mat.sensel_unit, mat.unit,
    JSON.stringify(mat.regions || []), JSON.stringify(mat.edges || {})].join("|");
  if (key === H.layerKey) return H.layer;
  if (!H.layer) H.layer = document.createElement("canvas");
  H.layer.width = canvas.width;
  H.layer.height = canvas.height;
  H.layerKey = key;
  const ctx = H.layer.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  H.labels = [];
  const { x0, y0, cell, fontPx } = L;
  const w = cell * mat.cols, h = cell * mat.rows;
  ctx.strokeStyle = "#9aa3af";
  ctx.lineWidth = 1;
  ctx.strokeRect(x0, y0, w, h);
  const f = mat.factor || 1;
  const px = (col) => x0 + (col / f) * cell, py = (row) => y0 + (row / f) * cell;
  ctx.font = `bold ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  for (const r of mat.regions || []) {
    const colour = r.name === "left" ? "#1f6fb2" : r.name === "right" ? "#c8561a" : "#2b2f36";
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 4;
    ctx.strokeRect(px(r.c0), py(r.r0), px(r.c1) - px(r.c0), py(r.r1) - py(r.r0));
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 3]);
    ctx.strokeRect(px(r.c0), py(r.r0), px(r.c1) - px(r.c0), py(r.r1) - py(r.r0));
    ctx.setLineDash([]);
    const label = r.total === undefined ? r.name
      : `${r.name} ${r.total === null ? "–" : fmtIn(r.total, mat.unit)} ${mat.unit}`;
    const lw = ctx.measureText(label).width + 6;
    // above the region; inside its top edge when above would run into the head's words or an
    // other region's words; from its left edge, moved left as far as the words need to stay on
    // the picture (off it they would run over the side's words)
    const left = Math.max(x0, Math.min(px(r.c0), x0 + w - lw));
    const meets = (y) => H.labels.some((b) => left < b.x + b.w && b.x < left + lw
      && y < b.y + b.h && b.y < y + fontPx + 4);
    const above = py(r.r0) - fontPx - 4;
    const top = above >= y0 && !meets(above) ? above : py(r.r0) + 2;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(left, top, lw, fontPx + 4);
    H.labels.push({ x: left, y: top, w: lw, h: fontPx + 4 });
    ctx.fillStyle = colour;
    ctx.fillText(label, left + 3, top + fontPx + 2);
  }
  heatEdges(ctx, mat, L, w, h, H);
  heatScale(ctx, mat, L);
  return H.layer;
}

let HEAT_SCRATCH = null;

function heatmapScratch(width, height) {
  if (!HEAT_SCRATCH) HEAT_SCRATCH = document.createElement("canvas");
  if (HEAT_SCRATCH.width !== width) HEAT_SCRATCH.width = width;
  if (HEAT_SCRATCH.height !== height) HEAT_SCRATCH.height = height;
  return HEAT_SCRATCH;
}

// The words of the picture's edges (the server's: the same on every mat picture), the side ones
// turned along their edge. Their boxes as drawn, {edge, text, x, y, w, h} in CSS px, are kept
// in H.edges (the tests read them).
function heatEdges(ctx, mat, L, w, h, H) {
  const edges = mat.edges || {};
  const m = L.fontPx * 0.85;
  ctx.fillStyle = "#1d2430";
  ctx.font = `600 ${L.fontPx}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  H.edges = [];
  const box = (edge, cx, cy, turn) => {  // the drawn words' box, turned a quarter `turn` times
    const t = ctx.measureText(edges[edge]);
    const l = t.actualBoundingBoxLeft, r = t.actualBoundingBoxRight;
    const up = t.actualBoundingBoxAscent, down = t.actualBoundingBoxDescent;
    const [x0, x1, y0, y1] = turn === 0 ? [-l, r, -up, down]
      : turn === 1 ? [-down, up, -l, r] : [-up, down, -r, l];
    H.edges.push({ edge, text: edges[edge], x: cx + x0, y: cy + y0, w: x1 - x0, h: y1 - y0 });
  };
  if (edges.top) {
    ctx.fillText(edges.top, L.x0 + w / 2, L.y0 - m);
    box("top", L.x0 + w / 2, L.y0 - m, 0);
  }
  for (const [edge, x, turn] of [["left", L.x0 - m, -1], ["right", L.x0 + w + m, 1]]) {
    if (!edges[edge]) continue;
    ctx.save();
    ctx.translate(x, L.y0 + h / 2);
    ctx.rotate((turn * Math.PI) / 2);
    ctx.fillText(edges[edge], 0, 0);
    ctx.restore();
    box(edge, x, L.y0 + h / 2, turn);
  }
}

// The colour scale beside the picture: the map from its low end (bottom) to its high end (top),
// with the values at both ends and their unit (the sensor's range, in the sensels' unit).
function heatScale(ctx, mat, L) {
  const { x, y, w, h } = L.bar;
  const lut = HEAT_LUT.rgb;
  for (let k = 0; k < h; k++) {
    const i = Math.round((1 - k / Math.max(1, h - 1)) * 255);
    ctx.fillStyle = `rgb(${lut[3 * i]},${lut[3 * i + 1]},${lut[3 * i + 2]})`;
    ctx.fillRect(x, y + k, w, 1.5);
  }
  ctx.strokeStyle = "#9aa3af";
  ctx.lineWidth = 1;
  ctx.strokeRect(x, y, w, h);
  const scale = mat.scale === undefined ? 1 : mat.scale, offset = mat.offset || 0;
  const unit = mat.sensel_unit || "raw";
  ctx.fillStyle = "#1d2430";
  ctx.font = `${Math.round(L.fontPx * 0.9)}px system-ui, sans-serif`;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  const top = mat.top === undefined ? mat.raw_max : mat.top;
  ctx.fillText(fmtIn(top * scale + offset, mat.sensel_unit), x + w + 4, y);
  ctx.textBaseline = "bottom";
  ctx.fillText(fmtIn(mat.raw_min * scale + offset, mat.sensel_unit), x + w + 4, y + h);
  ctx.textBaseline = "middle";
  ctx.fillText(unit, x + w + 4, y + h / 2);
}

function copMark(ctx, x, y) {
  ctx.beginPath();
  ctx.arc(x, y, 7, 0, 2 * Math.PI);
  ctx.moveTo(x - 11, y); ctx.lineTo(x + 11, y);
  ctx.moveTo(x, y - 11); ctx.lineTo(x, y + 11);
  ctx.stroke();
}

function matInfo(mat) {
  const parts = [`total ${fmtIn(mat.total, mat.unit)} ${mat.unit}`];
  if (mat.cop) parts.push(`centre of pressure x ${fmtIn(mat.cop.x_mm, "mm")} mm, y ${fmtIn(mat.cop.y_mm, "mm")} mm`);
  if (!(mat.regions || []).length) parts.push("no block regions found yet");
  if (mat.contact_area_cm2 !== null) parts.push(`contact ${fmtIn(mat.contact_area_cm2, "cm²")} cm²`);
  if (mat.peak !== null) parts.push(`peak ${fmtIn(mat.peak, mat.peak_unit)} ${mat.peak_unit}`);
  parts.push(`${mat.full_rows}×${mat.full_cols} sensels` +
    (mat.factor > 1 ? ` (shown as ${mat.factor}×${mat.factor} means)` : ""));
  return parts.join(" · ");
}
