// A mat session's block regions on its heat map, in the session page: drawn on the picture (head
// up), moved or resized with the pointer or typed as rows and columns, and saved through the
// edit log (PUT /api/sessions/<id>/regions), as `sotlog regions --set` does.
"use strict";

const RG = { mat: null, regions: [], drag: null };
const EDGE_PX = 7;  // a press this close to a box's edge moves that edge

async function initRegions(sid, info, onSaved) {
  const panel = document.getElementById("regions-panel");
  if ((info.frame_shape || []).length !== 2) return;
  panel.hidden = false;
  await loadColourMap();
  const samples = await api(`/api/sessions/${sid}/samples?units=N`);
  const total = samples.values.total || [];
  let at = 0;  // the heaviest moment: where the footprints show best
  total.forEach((v, i) => { if (v > (total[at] ?? -Infinity)) at = i; });
  RG.mat = await api(`/api/sessions/${sid}/mat?t=${(samples.time_s[at] || 0).toFixed(3)}`);
  RG.regions = RG.mat.regions.map((r) => ({ name: r.name, r0: r.r0, r1: r.r1, c0: r.c0, c1: r.c1 }));
  const canvas = document.getElementById("regions-mat");
  canvas.addEventListener("pointerdown", (e) => grab(canvas, e));
  canvas.addEventListener("pointermove", (e) => pull(canvas, e));
  canvas.addEventListener("pointerup", () => { RG.drag = null; });
  window.addEventListener("resize", drawRegions);
  const save = async (regions) => {
    try {
      const r = await api(`/api/sessions/${sid}/regions`, { method: "PUT", body: { regions } });
      RG.regions = r.regions.map((x) => ({ name: x.name, r0: x.r0, r1: x.r1, c0: x.c0, c1: x.c1 }));
      document.getElementById("regions-saved").textContent = regions
        ? `Saved at ${new Date().toLocaleTimeString()}; the earlier regions are in the edit history.`
        : "The regions are found on the data again.";
      drawRegions();
      await onSaved();
    } catch (err) { showError(err); }
  };
  document.getElementById("regions-save").addEventListener("click", () => save(RG.regions));
  document.getElementById("regions-auto").addEventListener("click", () => save(null));
  drawRegions();
}

function drawRegions() {
  if (!RG.mat) return;
  drawHeatmap(document.getElementById("regions-mat"),
    { ...RG.mat, regions: RG.regions.map((r) => ({ ...r })) });
  const tbody = document.querySelector("#regions-table tbody");
  if (tbody.contains(document.activeElement)) return;  // not while a number is being typed
  tbody.replaceChildren(...RG.regions.map((r) => el("tr", { "data-region": r.name },
    el("td", { text: r.name }),
    ...["r0", "r1", "c0", "c1"].map((k) => el("td", { class: "num" }, el("input", {
      type: "number", step: 1, min: 0, value: String(k.endsWith("1") ? r[k] - 1 : r[k]),
      max: String((k[0] === "r" ? RG.mat.full_rows : RG.mat.full_cols) - 1),
      "aria-label": `${r.name} ${k[0] === "r" ? "rows" : "columns"} ${k.endsWith("0") ? "from" : "to"}`,
      onchange: (e) => {  // rows and columns as a person counts them: "to" is the last one
        const v = Math.round(Number(e.target.value)) + (k.endsWith("1") ? 1 : 0);
        if (Number.isFinite(v)) r[k] = v;
        e.target.blur();
        drawRegions();
      } }))))));
}

// Sensel coordinates of the picture under the pointer (continuous).
function senselAt(canvas, e) {
  const L = canvas._layout, box = canvas.getBoundingClientRect(), f = RG.mat.factor || 1;
  return [((e.clientY - box.top - L.y0) / L.cell) * f, ((e.clientX - box.left - L.x0) / L.cell) * f];
}

function grab(canvas, e) {
  const [row, col] = senselAt(canvas, e);
  const near = (EDGE_PX / canvas._layout.cell) * (RG.mat.factor || 1);
  for (const r of RG.regions) {
    const inside = row >= r.r0 - near && row <= r.r1 + near && col >= r.c0 - near && col <= r.c1 + near;
    if (!inside) continue;
    const edges = ["r0", "r1", "c0", "c1"].filter((k) =>
      Math.abs((k[0] === "r" ? row : col) - r[k]) <= near);
    RG.drag = { region: r, edges: edges.length ? edges : ["r0", "r1", "c0", "c1"],
      from: [row, col], start: { ...r } };
    canvas.setPointerCapture(e.pointerId);
    return;
  }
}

function pull(canvas, e) {
  const d = RG.drag;
  if (!d) return;
  const [row, col] = senselAt(canvas, e);
  const dr = Math.round(row - d.from[0]), dc = Math.round(col - d.from[1]);
  const rows = RG.mat.full_rows, cols = RG.mat.full_cols, r = d.region, s = d.start;
  const moveAll = d.edges.length === 4;
  const shift = (k, by, limit) => Math.max(0, Math.min(limit, s[k] + by));
  if (moveAll) {  // the whole box, kept inside the mat
    const br = Math.max(-s.r0, Math.min(rows - s.r1, dr)), bc = Math.max(-s.c0, Math.min(cols - s.c1, dc));
    Object.assign(r, { r0: s.r0 + br, r1: s.r1 + br, c0: s.c0 + bc, c1: s.c1 + bc });
  } else {
    for (const k of d.edges) r[k] = shift(k, k[0] === "r" ? dr : dc, k[0] === "r" ? rows : cols);
    if (r.r1 <= r.r0) r.r1 = r.r0 + 1;
    if (r.c1 <= r.c0) r.c1 = r.c0 + 1;
  }
  drawRegions();
}
