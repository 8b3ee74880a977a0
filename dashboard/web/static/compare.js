// Two to four sessions side by side: each on its own time axis, lined up on a chosen event
// (placed unless chosen otherwise), zoomed and panned together, played in step with a cursor;
// their measures in one table; all of them as one PNG with titles and legends for slides.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// two or more sessions (V.compare_sessions says how many): ?a=&b= or ?ids=1,2,3; each is
// "a", "b", ... in the page
const letter = (i) => String.fromCharCode(97 + i);
const C = { ids: (params.get("ids") ? params.get("ids").split(",")
  : [params.get("a"), params.get("b")]).map(Number), data: {}, unit: "N",
  align: params.get("align") || "placed", view: null,
  play: { t: null, playing: false, speed: 1, last: 0 } };
const traces = {};

// A panel of traces and a summary per session, the first as "a", the next "b", ...
function buildPanels() {
  $("compare-traces").replaceChildren(...C.ids.map((id, i) => {
    const side = letter(i);
    return el("div", { class: "compare-trace" }, el("h2", { id: `label-${side}`, text: `Session ${id}` }),
      el("div", { class: "legend", id: `legend-${side}` }),
      el("div", { class: "traces short" }, el("canvas", { id: `trace-${side}`,
        "aria-label": `force traces of session ${id}` })));
  }));
  $("summaries").replaceChildren(...C.ids.map((id, i) => {
    const side = letter(i);
    return el("section", { class: "panel", id: `side-${side}`, "aria-labelledby": `sum-${side}-h` },
      el("h2", { id: `sum-${side}-h`, text: `Summary ${side.toUpperCase()}` }),
      el("div", { class: "readout", "data-part": "totals" }), el("h3", { class: "small", text: "Events" }),
      el("table", { class: "events" }, el("tbody")), el("p", { class: "links" }));
  }));
  for (const side of Object.keys(traces)) delete traces[side];
  C.ids.forEach((id, i) => { traces[letter(i)] = new Traces($(`trace-${letter(i)}`)); });
}

function address() {
  const which = C.ids.length === 2 ? `a=${C.ids[0]}&b=${C.ids[1]}` : `ids=${C.ids.join(",")}`;
  return `?${which}&align=${C.align}`;
}

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; }

async function fetchSession(id) {
  const [info, samples, events] = await Promise.all([api(`/api/sessions/${id}`),
    api(`/api/sessions/${id}/samples?units=N`), api(`/api/sessions/${id}/events`)]);
  const channels = samples.names.map((name, i) => ({ name, unit: samples.units[i],
    block: (samples.sides || {})[name] || null }));
  const main = mainUnit(channels);
  const total = samples.time_s.map((_, i) =>
    totalOf(channels, main, (c) => samples.values[c.name][i]));
  return { id, info, samples, events, channels, main, total };
}

function sides() { return C.ids.map((id) => C.data[id]); }

// Where each session's time 0 is put: its first event of the chosen kind ("start": its start).
function lineUp(d) {
  const e = C.align === "start" ? null : d.events.find((x) => x.kind === C.align);
  d.alignAt = e ? e.time_s : 0;
  d.aligned = C.align === "start" || !!e;
  const t = d.samples.time_s;
  d.extent = t.length ? [t[0] - d.alignAt, t[t.length - 1] - d.alignAt] : [0, 1];
}

function title(d) {
  const m = d.info.meta;
  return [`Session ${d.id}`, m.subject_code, m.position, m.category && `category ${m.category}`,
    localTime(d.info.started_utc)].filter(Boolean).join(" · ");
}

function alignWords(d) {
  if (C.align === "start") return "0 s at its start";
  return d.aligned ? `0 s at its first ${C.align} (${fmtSessionTime(d.alignAt)})`
    : `no ${C.align}: 0 s at its start`;
}

function scaled(d, values, unit) {
  const k = newtonsPer(C.unit);
  return unit === "N" && k !== 1 ? values.map((v) => (v === null ? null : v / k)) : values;
}

function seriesOf(d) {
  const sd = channelSides(d.channels, d.info.meta.blocks);
  const list = blockChannels(d.channels).map((c, i) => ({ name: c.name,
    label: blockLabel(c.name, sd[c.name], d.info.meta.blocks), colour: channelColour(sd[c.name], i),
    unit: c.unit, values: scaled(d, d.samples.values[c.name], c.unit) }));
  if (drawsTotal(d.channels)) {
    list.push({ name: "total", label: "total", colour: "#2b2f36", width: 2.5, unit: d.main,
      values: scaled(d, d.total, d.main) });
  }
  return list;
}

// One session's view for Traces: its own extent lined up on its event, or the window both are
// zoomed to (in lined-up seconds), on a force range shared when both measure the same thing.
function viewOf(d, yRange) {
  const [x0, x1] = C.view || d.extent;
  const force = d.main === "N";
  return { t: d.samples.time_s, series: seriesOf(d), tEnd: d.alignAt + x1,
    window: Math.max(1e-3, x1 - x0), origin: d.alignAt, yRange,
    events: d.events.map((e) => ({ t: e.time_s, kind: e.kind, text: e.text || "" })),
    unit: force ? C.unit : d.main || "", unitLabel: force ? `force (${C.unit})` : d.main || "",
    minRange: force ? 10 / newtonsPer(C.unit) : 1,
    cursor: C.play.t === null ? undefined : d.alignAt + C.play.t,
    empty: d.samples.time_s.length ? null : "this session has no samples" };
}

function extent(d) {
  let lo = 0, hi = 0;
  for (const s of seriesOf(d)) for (const v of s.values) {
    if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  return [lo, hi];
}

function draw() {
  const all = sides();
  if (all.some((d) => !d)) return;
  // one force scale for the sessions that measure the same thing
  const ranges = {};
  for (const d of all) {
    const [lo, hi] = extent(d), r = ranges[d.main] || [0, 0];
    ranges[d.main] = [Math.min(r[0], lo), Math.max(r[1], hi)];
  }
  const range = ([lo, hi]) => [Math.min(0, lo) * 1.08, Math.max(hi, 1e-9) * 1.08];
  all.forEach((d, i) => {
    traces[letter(i)].draw(viewOf(d, range(ranges[d.main])));
    legend($(`legend-${letter(i)}`), d);
  });
  if (C.mats) drawMatCompare(all[0], all[1], C.play.t === null ? 0 : C.play.t, C.play.speed);
  $("play-time").textContent = C.play.t === null ? ""
    : `${fmtIn(C.play.t, "s")} s from each one's ${C.align}`;
}

// The legend with each line's value at the playback cursor, in the page's words.
function legend(node, d) {
  const at = C.play.t === null ? -1 : lowerBound(d.samples.time_s, d.alignAt + C.play.t + 1e-9) - 1;
  node.replaceChildren(...seriesOf(d).map((s) => el("span", {},
    el("i", { style: `background:${s.colour}` }), s.label,
    at >= 0 && Number.isFinite(s.values[at])
      ? el("b", { text: ` ${fmtIn(s.values[at], s.unit === "N" ? C.unit : s.unit)} ` +
        `${s.unit === "N" ? C.unit : s.unit}` }) : "")),
  el("span", { class: "muted", text: `· ${alignWords(d)}` }));
}

async function renderSide(side, d) {
  const node = $(`side-${side}`);
  $(`label-${side}`).textContent = title(d);
  $(`sum-${side}-h`).textContent = `Session ${d.id}${d.info.meta.subject_code ? " · " + d.info.meta.subject_code : ""}`;
  d.summary = await api(`/api/sessions/${d.id}/summary?units=${C.unit}`);
  renderTotals(node.querySelector("[data-part=totals]"), d.summary);
  node.querySelector("table.events tbody").replaceChildren(...(d.events.length ? d.events.map((e) =>
    el("tr", { "data-kind": e.kind }, el("td", { class: "num", text: fmtSessionTime(e.time_s) }),
      el("td", { class: "kind", text: e.kind }), el("td", { text: e.text || "" }))) :
    [el("tr", {}, el("td", { class: "muted", text: "No events." }))]));
  node.querySelector("p.links").replaceChildren(
    el("a", { href: `/sessions/${d.id}`, text: "open the session" }), " · ",
    el("a", { href: `/replay/${d.id}`, text: "replay" }), " · ",
    el("a", { href: `/api/sessions/${d.id}/figures/force.png?units=${C.unit}&download=true`,
      download: `session-${d.id}-force.png`, text: "its plot (PNG)" }));
}

// The measures of both sessions in one table: a row per measure, a column per session.
function renderMeasures() {
  const all = sides();
  const names = [...new Set(all.flatMap((d) => d.summary.channels.map((c) => c.name)))];
  const channel = (d, name) => d.summary.channels.find((c) => c.name === name);
  const num = (x, unit) => (x === null || x === undefined ? "–" : `${fmtIn(x, unit)} ${unit}`);
  const rows = [
    ["recorded", (d) => fmtSpan(d.summary.duration_s)],
    ["on the blocks", (d) => fmtSpan(d.summary.time_on_blocks_s)],
    ["frames", (d) => String(d.summary.frames)],
    ["measured rate", (d) => num(d.summary.measured_rate_hz, "frames/s")],
    ...names.flatMap((name) => [["mean", "mean"], ["peak", "max"], ["mean on the blocks", "loaded_mean"],
      ["share", "share_pct"], ["of body weight", "body_weight_pct"]].map(([words, key]) =>
      [`${name}: ${words}`, (d) => {
        const c = channel(d, name);
        if (!c) return "–";
        return key.endsWith("_pct") ? num(c[key], "%") : num(c[key], c.unit);
      }])),
  ];
  $("measures").querySelector("thead").replaceChildren(el("tr", {}, el("th", { text: "measure" }),
    ...all.map((d) => el("th", { class: "num", text: `Session ${d.id}` }))));
  $("measures").querySelector("tbody").replaceChildren(...rows.map(([words, get]) =>
    el("tr", { "data-measure": words }, el("th", { text: words }),
      ...all.map((d) => el("td", { class: "num", text: get(d) })))));
}

async function render() {
  const words = `${C.ids.slice(0, -1).join(", ")} and ${C.ids[C.ids.length - 1]}`;
  $("title").textContent = C.ids.length === 2
    ? `Session ${C.ids[0]} and session ${C.ids[1]}` : `Sessions ${words}`;
  document.title = `sotlog · compare ${words}`;
  for (const d of sides()) lineUp(d);
  C.mats = C.ids.length === 2 && matCompareShown(...sides());
  await Promise.all(sides().map((d, i) => renderSide(letter(i), d)));
  renderMeasures();
  draw();
}

// Both panels with their titles and legends, on white, as one PNG.
function figure() {
  const dpr = window.devicePixelRatio || 1;
  const parts = sides().map((d, i) => ({ canvas: $(`trace-${letter(i)}`), d }));
  const line = 24 * dpr, width = Math.max(...parts.map((p) => p.canvas.width));
  const out = document.createElement("canvas");
  out.width = width;
  out.height = parts.reduce((h, p) => h + p.canvas.height + 2 * line, 0);
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.textBaseline = "middle";
  let y = 0;
  for (const { canvas, d } of parts) {
    ctx.fillStyle = "#1d2430";
    ctx.font = `600 ${15 * dpr}px system-ui, sans-serif`;
    ctx.fillText(`${title(d)} · ${alignWords(d)}`, 10 * dpr, y + line / 2);
    ctx.font = `${13 * dpr}px system-ui, sans-serif`;
    let x = 10 * dpr;
    for (const s of seriesOf(d)) {  // the legend: a swatch and the line's name
      ctx.fillStyle = s.colour;
      ctx.fillRect(x, y + line * 1.5 - 2 * dpr, 18 * dpr, 4 * dpr);
      ctx.fillStyle = "#1d2430";
      ctx.fillText(s.label, x + 24 * dpr, y + line * 1.5);
      x += 24 * dpr + ctx.measureText(s.label).width + 18 * dpr;
    }
    ctx.drawImage(canvas, 0, y + 2 * line);
    y += 2 * line + canvas.height;
  }
  C.figure = out;  // what was downloaded, for a look from the tests
  return out.toDataURL("image/png");
}

// Zoom both by `factor` around lined-up time `at` (default: the middle of what is shown).
function zoom(factor, at) {
  const [x0, x1] = C.view || traceRange();
  const mid = at === undefined ? (x0 + x1) / 2 : at;
  C.view = [mid - (mid - x0) * factor, mid + (x1 - mid) * factor];
  draw();
}

// What the first panel shows now, in lined-up seconds.
function traceRange() { const d = sides()[0]; return C.view || d.extent; }

// Lined-up seconds at a pointer's x over a panel.
function timeAt(tr, d, clientX) {
  const p = tr.plot, box = tr.canvas.getBoundingClientRect();
  return p.t0 + ((clientX - box.left - p.left) / p.width) * p.window - d.alignAt;
}

function bindZoomAndPan() {
  for (const [i, side] of [...C.ids.keys()].map((i) => [i, letter(i)])) {
    const tr = traces[side], canvas = tr.canvas;
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const d = sides()[i];
      if (!C.view) C.view = [...d.extent];
      zoom(e.deltaY < 0 ? 1 / 1.25 : 1.25, timeAt(tr, d, e.clientX));
    }, { passive: false });
    let drag = null;
    canvas.addEventListener("pointerdown", (e) => {
      const d = sides()[i];
      drag = { x: e.clientX, view: [...(C.view || d.extent)] };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const shift = ((e.clientX - drag.x) / tr.plot.width) * (drag.view[1] - drag.view[0]);
      C.view = [drag.view[0] - shift, drag.view[1] - shift];
      draw();
    });
    canvas.addEventListener("pointerup", () => { drag = null; });
  }
}

// Both sessions played in step: one cursor, at the same time from each one's chosen event.
function bindPlayback() {
  const P = C.play;
  const start = Math.min(...sides().map((d) => d.extent[0]));
  const end = Math.max(...sides().map((d) => d.extent[1]));
  const setPlaying = (on) => {
    P.playing = on;
    if (on && (P.t === null || P.t >= end)) P.t = start;
    P.last = performance.now();
    $("play").textContent = on ? "Pause" : "Play";
  };
  $("play").addEventListener("click", () => setPlaying(!P.playing));
  $("speed").addEventListener("change", () => { P.speed = Number($("speed").value); });
  const tick = () => {
    requestAnimationFrame(tick);
    if (!P.playing) return;
    const now = performance.now();
    P.t = Math.min(end, P.t + ((now - P.last) / 1000) * P.speed);
    P.last = now;
    if (C.view && (P.t > C.view[1] || P.t < C.view[0])) {  // the window follows the cursor
      const w = C.view[1] - C.view[0];
      C.view = [P.t - w * 0.1, P.t + w * 0.9];
    }
    if (P.t >= end) setPlaying(false);
    draw();
  };
  requestAnimationFrame(tick);
  C.setPlaying = setPlaying;
}

function onKey(e) {
  const tag = (e.target.tagName || "").toLowerCase();
  if (e.ctrlKey || e.metaKey || e.altKey || ["input", "textarea"].includes(tag)) return;
  const act = { f: () => setPresent(!presenting(), $("present")), " ": () => C.setPlaying(!C.play.playing),
    "+": () => zoom(1 / 1.5), "=": () => zoom(1 / 1.5), "-": () => zoom(1.5),
    "0": () => { C.view = null; draw(); } }[e.key.toLowerCase()];
  if (act) { e.preventDefault(); act(); }
}

async function main() {
  try { await Promise.all([loadVocabulary(), loadColourMap()]); } catch (err) {
    showError(err);
    return;
  }
  const [fewest, most] = V.compare_sessions;
  if (C.ids.length < fewest || C.ids.length > most || !C.ids.every((id) => id > 0)) {
    showError(`choose ${fewest} to ${most} sessions on the sessions page (tick them, then ` +
      "Compare), or give them as ?ids=1,2,3");
    return;
  }
  buildPanels();
  const access = await api("/api/access").catch(() => ({}));
  C.unit = bindUnitSelect($("unit"), access.units, (u) => { C.unit = u; render().catch(showError); });
  const kinds = ["placed", "removed", ...V.person_event_kinds.filter((k) => !["placed", "removed"].includes(k)), "start"];
  $("align").replaceChildren(...kinds.map((k) => el("option", { value: k, text: k, selected: k === C.align })));
  $("align").addEventListener("change", () => {
    C.align = $("align").value;
    C.view = null;
    C.play.t = null;
    history.replaceState(null, "", address());
    render().catch(showError);
  });
  $("swap").addEventListener("click", () => {
    C.ids.reverse();
    history.replaceState(null, "", address());
    buildPanels();
    render().then(bindZoomAndPan).catch(showError);
  });
  $("download").addEventListener("click", () => {
    $("download").href = figure();
    $("download").download = `sotlog-compare-${C.ids.join("-")}.png`;
  });
  window.addEventListener("resize", draw);
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.5));
  $("zoom-out").addEventListener("click", () => zoom(1.5));
  $("fit").addEventListener("click", () => { C.view = null; draw(); });
  $("present").addEventListener("click", () => setPresent(!presenting(), $("present")));
  document.addEventListener("keydown", onKey);
  try {
    for (const d of await Promise.all(C.ids.map(fetchSession))) C.data[d.id] = d;
    await render();
    bindZoomAndPan();
    bindPlayback();
    document.body.dataset.ready = "true";
  } catch (err) { showError(err); }
}

main();
