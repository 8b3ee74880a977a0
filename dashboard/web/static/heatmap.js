// A pressure mat's newest frame as a heat map on a <canvas>, with its centre of pressure.
"use strict";

// Colour stops from no contact (light grey) to the sensor's top of range (red).
const HEAT_STOPS = [[0, [244, 246, 248]], [0.02, [198, 219, 239]], [0.2, [66, 146, 198]],
  [0.4, [65, 171, 93]], [0.6, [254, 224, 139]], [0.8, [244, 109, 67]], [1, [165, 0, 38]]];

function heatColour(x) {
  const v = Math.max(0, Math.min(1, x));
  for (let i = 1; i < HEAT_STOPS.length; i++) {
    const [b, cb] = HEAT_STOPS[i];
    if (v <= b) {
      const [a, ca] = HEAT_STOPS[i - 1];
      const f = (v - a) / (b - a || 1);
      return `rgb(${ca.map((c, k) => Math.round(c + f * (cb[k] - c))).join(",")})`;
    }
  }
  return "rgb(165,0,38)";
}

// A live mat frame (a binary message, docs/dashboard.md): "SMAT", the facts' length (uint32
// little-endian), the facts as JSON, then rows x cols values of type `dtype`, little-endian,
// starting at a multiple of 8 bytes. Returns the facts with `values`, as the session API gives.
const MAT_ARRAYS = { uint8: Uint8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
  int8: Int8Array, int64: BigInt64Array, uint64: BigUint64Array };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeMatFrame(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== "SMAT") throw new Error(`live stream: a binary message that is not a mat frame (${magic})`);
  const headLength = view.getUint32(4, true);
  const mat = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headLength)));
  const Type = MAT_ARRAYS[mat.dtype];
  if (!Type) throw new Error(`live stream: a mat frame of unknown type ${mat.dtype}`);
  const n = mat.rows * mat.cols, start = 8 + headLength;
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

function drawHeatmap(canvas, mat) {
  const box = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(box.width * dpr);
  canvas.height = Math.round(box.height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, box.width, box.height);
  const fontPx = presenting() ? Math.round(rootPx()) : 13;  // labels grow on a projector
  const margin = Math.round(fontPx * 1.7);
  const cell = Math.min((box.width - 2 * margin) / mat.cols, (box.height - 2 * margin) / mat.rows);
  const x0 = (box.width - cell * mat.cols) / 2, y0 = (box.height - cell * mat.rows) / 2;
  const span = mat.raw_max - mat.raw_min || 1;
  for (let r = 0; r < mat.rows; r++) {
    for (let c = 0; c < mat.cols; c++) {
      const v = mat.values[r * mat.cols + c];
      const missing = v === null || Number.isNaN(v);  // NaN: a missing sensel in a float frame
      ctx.fillStyle = missing ? "#ffffff" : heatColour((v - mat.raw_min) / span);
      ctx.fillRect(x0 + c * cell, y0 + r * cell, Math.ceil(cell), Math.ceil(cell));
    }
  }
  ctx.strokeStyle = "#9aa3af";
  ctx.strokeRect(x0, y0, cell * mat.cols, cell * mat.rows);
  // Regions and the centre of pressure come in full-resolution sensels; the image may be
  // block means of factor x factor sensels.
  const px = (col) => x0 + (col / mat.factor) * cell, py = (row) => y0 + (row / mat.factor) * cell;
  ctx.font = `bold ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  for (const r of mat.regions || []) {
    const colour = r.name === "left" ? "#1f6fb2" : r.name === "right" ? "#c8561a" : "#2b2f36";
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 3]);
    ctx.strokeRect(px(r.c0), py(r.r0), px(r.c1) - px(r.c0), py(r.r1) - py(r.r0));
    ctx.setLineDash([]);
    const label = `${r.name} ${r.total === null ? "–" : fmtBig(r.total, 0)} ${mat.unit}`;
    const w = ctx.measureText(label).width + 6;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    // above the region; inside its top edge when above would run into the mat's edge labels
    const top = py(r.r0) - fontPx - 4 >= y0 ? py(r.r0) - fontPx - 4 : py(r.r0) + 2;
    ctx.fillRect(px(r.c0), top, w, fontPx + 4);
    ctx.fillStyle = colour;
    ctx.fillText(label, px(r.c0) + 3, top + fontPx + 2);
  }
  if (mat.cop) {  // a ringed cross, readable on any colour
    const cx = px(mat.cop.col + 0.5), cy = py(mat.cop.row + 0.5);
    ctx.lineWidth = 4;
    ctx.strokeStyle = "#fff";
    copMark(ctx, cx, cy);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#111";
    copMark(ctx, cx, cy);
  }
  ctx.fillStyle = "#1d2430";
  ctx.font = `${fontPx}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  const w = cell * mat.cols, h = cell * mat.rows;
  const m = margin / 2;
  const edges = { top: [x0 + w / 2, y0 - m], bottom: [x0 + w / 2, y0 + h + m],
    left: [x0 - m, y0 + h / 2], right: [x0 + w + m, y0 + h / 2] };
  const [hx, hy] = edges[mat.head_edge] || edges.top;
  ctx.fillText("head", hx, hy);
  if (mat.head_edge === "top" || mat.head_edge === "bottom") {
    const leftOnLeft = mat.patient_left === "left";
    ctx.fillText(leftOnLeft ? "L" : "R", x0 - m, y0 + h / 2);
    ctx.fillText(leftOnLeft ? "R" : "L", x0 + w + m, y0 + h / 2);
  }
}

function copMark(ctx, x, y) {
  ctx.beginPath();
  ctx.arc(x, y, 7, 0, 2 * Math.PI);
  ctx.moveTo(x - 11, y); ctx.lineTo(x + 11, y);
  ctx.moveTo(x, y - 11); ctx.lineTo(x, y + 11);
  ctx.stroke();
}

function matInfo(mat) {
  const parts = [`total ${fmtBig(mat.total, 0)} ${mat.unit}`];
  if (mat.cop) parts.push(`centre of pressure x ${fmt(mat.cop.x_mm, 0)} mm, y ${fmt(mat.cop.y_mm, 0)} mm`);
  if (!(mat.regions || []).length) parts.push("no block regions found yet");
  if (mat.contact_area_cm2 !== null) parts.push(`contact ${fmt(mat.contact_area_cm2, 0)} cm²`);
  if (mat.peak !== null) parts.push(`peak ${fmtBig(mat.peak, 0)} ${mat.peak_unit}`);
  parts.push(`${mat.full_rows}×${mat.full_cols} sensels` +
    (mat.factor > 1 ? ` (shown as ${mat.factor}×${mat.factor} means)` : ""));
  return parts.join(" · ");
}
