// Two sessions side by side: traces on one time axis and one force scale, both summaries,
// and the pair as one PNG for slides.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const C = { ids: [Number(params.get("a")), Number(params.get("b"))], data: {}, unit: "N" };
const traces = { a: new Traces($("trace-a")), b: new Traces($("trace-b")) };

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

function title(d) {
  const m = d.info.meta;
  return [`Session ${d.id}`, m.subject_code, m.position, m.category && `category ${m.category}`,
    localTime(d.info.started_utc)].filter(Boolean).join(" · ");
}

// The view of one session for Traces, on the shared window and force range.
function viewOf(d, window, yRange) {
  const k = newtonsPer(C.unit);
  const force = d.main === "N";
  const scaled = (values, unit) => (unit === "N" && k !== 1
    ? values.map((v) => (v === null ? null : v / k)) : values);
  const sides = channelSides(d.channels, d.info.meta.blocks);
  const series = blockChannels(d.channels).map((c, i) => ({ name: c.name,
    colour: channelColour(sides[c.name], i), values: scaled(d.samples.values[c.name], c.unit) }));
  if (drawsTotal(d.channels)) {
    series.push({ name: "total", colour: "#2b2f36", width: 2.5, values: scaled(d.total, d.main) });
  }
  const unit = force ? C.unit : d.main || "";
  return { t: d.samples.time_s, series, tEnd: window, window, origin: 0, yRange,
    events: d.events.map((e) => ({ t: e.time_s, kind: e.kind, text: e.text || "" })),
    unit, unitLabel: force ? `force (${C.unit})` : unit, minRange: force ? 10 / k : 1,
    empty: d.samples.time_s.length ? null : "this session has no samples",
    timeLabel: secondsLabel };
}

// A tick label: whole seconds as they are, fractions (short sessions) with two decimals.
function secondsLabel(x) {
  const whole = Math.round(x);
  return Math.abs(x - whole) < 1e-6 ? `${whole} s` : `${Number(x.toFixed(2))} s`;
}

function extent(d) {
  const k = d.main === "N" ? newtonsPer(C.unit) : 1;
  let lo = 0, hi = 0;
  for (const s of [...Object.values(d.samples.values), d.total]) {
    for (const v of s) if (Number.isFinite(v)) { lo = Math.min(lo, v / k); hi = Math.max(hi, v / k); }
  }
  return [lo, hi];
}

function draw() {
  const [a, b] = [C.data[C.ids[0]], C.data[C.ids[1]]];
  if (!a || !b) return;
  const duration = (d) => (d.samples.time_s.length ? d.samples.time_s[d.samples.time_s.length - 1] : 0);
  const window = Math.max(1, duration(a), duration(b));
  const same = a.main === b.main;  // one force scale when both measure the same thing
  const [la, ha] = extent(a), [lb, hb] = extent(b);
  const range = (lo, hi) => [Math.min(0, lo) * 1.08, Math.max(hi, 1e-9) * 1.08];
  const yA = same ? range(Math.min(la, lb), Math.max(ha, hb)) : range(la, ha);
  const yB = same ? yA : range(lb, hb);
  traces.a.draw(viewOf(a, window, yA));
  traces.b.draw(viewOf(b, window, yB));
}

function legend(node, d) {
  const sides = channelSides(d.channels, d.info.meta.blocks);
  node.replaceChildren(...blockChannels(d.channels).map((c, i) => el("span", {},
    el("i", { style: `background:${channelColour(sides[c.name], i)}` }),
    blockLabel(c.name, sides[c.name], d.info.meta.blocks))),
    ...(drawsTotal(d.channels) ? [el("span", {}, el("i", { style: "background:#2b2f36" }), "total")] : []));
}

async function renderSide(side, d) {
  const node = $(`side-${side}`);
  $(`label-${side}`).textContent = title(d);
  $(`sum-${side}-h`).textContent = `Session ${d.id}${d.info.meta.subject_code ? " · " + d.info.meta.subject_code : ""}`;
  legend($(`legend-${side}`), d);
  const s = await api(`/api/sessions/${d.id}/summary?units=${C.unit}`);
  renderTotals(node.querySelector("[data-part=totals]"), s);
  renderSummaryTable(node.querySelector("table.summary"), s);
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

async function render() {
  $("title").textContent = `Session ${C.ids[0]} and session ${C.ids[1]}`;
  document.title = `sotlog · compare ${C.ids[0]} and ${C.ids[1]}`;
  await Promise.all([renderSide("a", C.data[C.ids[0]]), renderSide("b", C.data[C.ids[1]])]);
  draw();
}

// Both trace panels with their titles, on white, as one PNG.
function figure() {
  const canvases = [$("trace-a"), $("trace-b")];
  const labels = [$("label-a").textContent, $("label-b").textContent];
  const dpr = window.devicePixelRatio || 1;
  const head = 30 * dpr;
  const width = Math.max(...canvases.map((c) => c.width));
  const out = document.createElement("canvas");
  out.width = width;
  out.height = canvases.reduce((h, c) => h + c.height + head, 0);
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = "#1d2430";
  ctx.font = `${16 * dpr}px system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  let y = 0;
  canvases.forEach((c, i) => {
    ctx.fillText(labels[i], 10 * dpr, y + head / 2);
    ctx.drawImage(c, 0, y + head);
    y += head + c.height;
  });
  return out.toDataURL("image/png");
}

async function main() {
  if (!(C.ids[0] > 0 && C.ids[1] > 0)) {
    showError("choose two sessions on the sessions page (tick two, then Compare)");
    return;
  }
  try { await loadVocabulary(); } catch (err) { showError(err); return; }
  const access = await api("/api/access").catch(() => ({}));
  C.unit = bindUnitSelect($("unit"), access.units, (u) => { C.unit = u; render().catch(showError); });
  $("swap").addEventListener("click", () => {
    C.ids.reverse();
    history.replaceState(null, "", `?a=${C.ids[0]}&b=${C.ids[1]}`);
    render().catch(showError);
  });
  $("download").addEventListener("click", () => {
    $("download").href = figure();
    $("download").download = `sotlog-compare-${C.ids[0]}-${C.ids[1]}.png`;
  });
  window.addEventListener("resize", draw);
  $("present").addEventListener("click", () => setPresent(!presenting(), $("present")));
  document.addEventListener("keydown", (e) => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (e.ctrlKey || e.metaKey || e.altKey || ["input", "select", "textarea"].includes(tag)) return;
    if (e.key.toLowerCase() === "f") setPresent(!presenting(), $("present"));
  });
  try {
    const [a, b] = await Promise.all(C.ids.map(fetchSession));
    C.data[a.id] = a;
    C.data[b.id] = b;
    await render();
    document.body.dataset.ready = "true";
  } catch (err) { showError(err); }
}

main();
