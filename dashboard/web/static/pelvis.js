// The pelvis, head at the top, with a clickable landmark on each side; and the block table that
// says the same thing in form fields. Both draw from one list of blocks.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

// The landmarks, their labels and where each sits on the drawing's left half all come from
// /api/vocabulary (V.landmarks, V.pelvis); the right half mirrors the left.

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// Oriented as every mat picture, by the server's one rule (V.pelvis.edges and image_sides,
// sensing.mat.orientation.PICTURE_EDGES): head at the top, the patient's right on the image's
// left, in every position, with the same words on the same edges.
function imageSideOf(patientSide) { return V.pelvis.image_sides[patientSide]; }

function landmarkXY(landmark, patientSide) {
  const [x, y] = V.pelvis.landmarks[landmark];
  return imageSideOf(patientSide) === "left" ? [x, y] : [V.pelvis.width - x, y];
}

// The bones come from /api/vocabulary too (V.pelvis.half, mirrored, and V.pelvis.middle): the
// report draws the same ones.
function bonePath(commands) {
  return commands.map(([cmd, ...xy]) => cmd + xy.join(" ")).join(" ");
}

function drawBones(svg) {
  const half = svgEl("g", { class: "bones" });
  for (const shape of V.pelvis.half) half.append(svgEl("path", { class: "bone", d: bonePath(shape) }));
  const [cx, cy, r] = V.pelvis.femoral_head;
  half.append(svgEl("circle", { class: "bone", cx, cy, r }));
  const mirror = half.cloneNode(true);
  mirror.setAttribute("transform", `translate(${V.pelvis.width},0) scale(-1,1)`);
  svg.append(half, mirror);
  for (const shape of V.pelvis.middle) svg.append(svgEl("path", { class: "bone", d: bonePath(shape) }));
}

// state.readOnly: the drawing shows the blocks and takes no clicks (a session recording now).
function renderPelvis(svg, state, onChange) {
  svg.replaceChildren();
  svg.classList.toggle("readonly", !!state.readOnly);
  const { width, height } = V.pelvis;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  drawBones(svg);
  const position = state.position || V.positions[0];
  for (const side of V.block_sides) {
    const edge = imageSideOf(side), imgLeft = edge === "left";
    const label = svgEl("text", { class: "side-label", x: imgLeft ? 8 : width - 8, y: 20,
      "text-anchor": imgLeft ? "start" : "end", "data-edge": edge });
    label.textContent = V.pelvis.edges[edge];
    svg.append(label);
  }
  const mid = width / 2;
  const head = svgEl("text", { class: "side-label", x: mid, y: 20, "text-anchor": "middle",
    "data-edge": "top" });
  head.textContent = V.pelvis.edges.top;
  const view = svgEl("text", { class: "lm-label", x: mid, y: height - 4, "text-anchor": "middle" });
  view.textContent = `as the mat pictures · ${position}`;
  svg.append(head, view);

  for (const side of V.block_sides) {
    for (const landmark of Object.keys(V.pelvis.landmarks)) {
      const [x, y] = landmarkXY(landmark, side);
      const name = `place a block at the patient's ${side} ${landmarkLabel(landmark)}`;
      const target = svgEl("circle", { class: "landmark", cx: x, cy: y, r: 9,
        "data-side": side, "data-landmark": landmark });
      const title = svgEl("title");
      title.textContent = state.readOnly ? landmarkLabel(landmark) : name;
      target.append(title);
      if (!state.readOnly) {
        target.setAttribute("tabindex", 0);
        target.setAttribute("role", "button");
        target.setAttribute("aria-label", name);
        const act = () => { placeBlock(state, side, landmark); onChange(); };
        target.addEventListener("click", act);
        target.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); act(); }
        });
      }
      const imgLeft = x < mid;
      const below = V.pelvis.labels_below.includes(landmark);
      const text = svgEl("text", { class: "lm-label", x: below ? x : imgLeft ? x - 12 : x + 12,
        y: below ? y + 22 : y + 4, "text-anchor": below ? "middle" : imgLeft ? "end" : "start" });
      text.textContent = V.pelvis.short_labels[landmark] || landmarkLabel(landmark);
      svg.append(text, target);
    }
  }
  state.blocks.forEach((b, i) => {
    if (!V.pelvis.landmarks[b.landmark]) return;  // "other" is in the table only
    const [x, y] = landmarkXY(b.landmark, b.side);
    const mirrored = x > mid ? -1 : 1;
    const angle = Number.isFinite(b.angle_deg) ? b.angle_deg * mirrored : 0;
    const g = svgEl("g", { class: "block" + (i === state.selected ? " selected" : ""),
      transform: `translate(${x},${y}) rotate(${angle})`, "data-block": i });
    g.append(svgEl("rect", { x: -24, y: -11, width: 48, height: 22, rx: 4,
      fill: V.pelvis.side_colours[b.side], "fill-opacity": 0.85 }));
    const t = svgEl("text", { x: 0, y: 4, "text-anchor": "middle" });
    t.textContent = b.channel || b.side[0].toUpperCase();
    g.append(t);
    const title = svgEl("title");
    title.textContent = `block ${i + 1}: ${b.side} ${landmarkLabel(b.landmark)}`;
    g.append(title);
    if (!state.readOnly) g.addEventListener("click", () => { state.selected = i; onChange(); });
    svg.append(g);
  });
}

function freeChannel(state, side) {
  const used = new Set(state.blocks.map((b) => b.channel).filter(Boolean));
  const free = state.channels.filter((c) => !used.has(c.name));
  const sameSide = free.find((c) => c.block === side);
  return (sameSide || free[0] || { name: null }).name;
}

function placeBlock(state, side, landmark) {
  const existing = state.blocks.findIndex((b) => b.side === side && b.landmark === landmark);
  if (existing >= 0) { state.selected = existing; return; }
  state.blocks.push({ side, landmark, angle_deg: null, channel: freeChannel(state, side) });
  state.selected = state.blocks.length - 1;
}

// A block not on the drawing: on the first side that has none yet, at the landmark the drawing
// does not show ("other").
function addBlock(state) {
  const used = new Set(state.blocks.map((b) => b.side));
  const side = V.block_sides.find((s) => !used.has(s)) || V.block_sides[0];
  const landmark = V.landmarks.map((l) => l.name).find((n) => !V.pelvis.landmarks[n]);
  state.blocks.push({ side, landmark, angle_deg: null, channel: freeChannel(state, side) });
  state.selected = state.blocks.length - 1;
}

function options(select, values, labels, current) {
  select.replaceChildren(...values.map((v, i) =>
    el("option", { value: v, selected: v === current, text: labels[i] })));
}

function renderBlockTable(tbody, state, onChange) {
  tbody.replaceChildren();
  if (!state.blocks.length) {
    tbody.append(el("tr", {}, el("td", { colspan: 5, class: "muted",
      text: "No blocks yet: click a landmark on the drawing, or use Add block." })));
    return;
  }
  state.blocks.forEach((b, i) => {
    const n = i + 1;
    const side = el("select", { "aria-label": `block ${n} side`, "data-field": "side" });
    options(side, V.block_sides, V.block_sides, b.side);
    const landmark = el("select", { "aria-label": `block ${n} landmark`, "data-field": "landmark" });
    options(landmark, V.landmarks.map((l) => l.name), V.landmarks.map((l) => l.label), b.landmark);
    const [lo, hi] = V.angle_range_deg;
    const angle = el("input", { type: "number", min: lo, max: hi, step: 1, "data-field": "angle",
      "aria-label": `block ${n} angle in degrees`, placeholder: "°",
      value: Number.isFinite(b.angle_deg) ? String(b.angle_deg) : "" });
    const channel = el("select", { "aria-label": `block ${n} channel`, "data-field": "channel" });
    options(channel, ["", ...state.channels.map((c) => c.name)],
      ["—", ...state.channels.map((c) => c.name)], b.channel || "");
    const remove = el("button", { type: "button", "aria-label": `remove block ${n}`, text: "✕" });
    side.addEventListener("change", () => { b.side = side.value; onChange(); });
    landmark.addEventListener("change", () => { b.landmark = landmark.value; onChange(); });
    angle.addEventListener("change", () => {
      const v = angle.value.trim() === "" ? null : Number(angle.value);
      b.angle_deg = Number.isFinite(v) ? Math.max(lo, Math.min(hi, v)) : null;
      onChange();
    });
    channel.addEventListener("change", () => { b.channel = channel.value || null; onChange(); });
    remove.addEventListener("click", () => {
      state.blocks.splice(i, 1);
      state.selected = -1;
      onChange();
    });
    const tr = el("tr", { class: i === state.selected ? "selected" : "", "data-block": i },
      el("td", {}, side), el("td", {}, landmark), el("td", {}, angle), el("td", {}, channel),
      el("td", {}, remove));
    tr.addEventListener("focusin", () => { if (state.selected !== i) state.selected = i; });
    if (state.readOnly) for (const f of tr.querySelectorAll("select, input, button")) f.disabled = true;
    tbody.append(tr);
  });
}
