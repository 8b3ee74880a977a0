// One session: summary, plot, events, editable metadata with its edit log and undo, which zero
// applies when, downloads.
"use strict";

const $ = (id) => document.getElementById(id);
const SID = Number(location.pathname.split("/").pop());
// The metadata fields the form edits (the blocks are edited with the drawing and the table).
const META_FIELDS = [...document.querySelectorAll("#meta [name]")].map((n) => n.name);
const P = { info: null, role: "full", setup: { position: null, blocks: [], selected: -1, channels: [] } };

// What each form field is called on the page (its <label>), for "Saved …".
const FIELD_WORDS = Object.fromEntries([...document.querySelectorAll("#meta label")].map((l) => {
  const field = l.querySelector("[name]");
  return [field ? field.name : "", l.firstChild.textContent.trim()];
}).concat([["blocks", "blocks"]]));

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; }

function metaChanged() {
  P.setup.position = $("position").value || V.positions[0];
  renderPelvis($("pelvis"), P.setup, metaChanged);
  renderBlockTable($("block-rows"), P.setup, metaChanged);
}

function fillMeta(meta) {
  for (const f of META_FIELDS) $(f).value = meta[f] === null || meta[f] === undefined ? "" : meta[f];
  P.setup.blocks = (meta.blocks || []).map((b) => ({ ...b }));
  P.setup.selected = -1;
  metaChanged();
}

// Nested counters (e.g. what could not be stored, by kind) as "frames 0 · raw bytes 0".
function plain(v) {
  if (v && typeof v === "object") {
    return Object.entries(v).map(([k, x]) => `${k.replaceAll("_", " ")} ${x}`).join(" · ") || "–";
  }
  return String(v);
}

function calibrationText(conversion) {
  const cal = (conversion || {}).calibration;
  if (!cal) return "none: the profile's scale";
  return Object.entries(cal.channels || {}).map(([name, c]) =>
    `${name}: calibration ${c.id} (${c.fit}, ${(c.created_utc || "").slice(0, 10)})`).join("; ");
}

function renderHeader(info) {
  const m = info.meta;
  document.title = `sotlog · session ${info.id}`;
  $("title").textContent = `Session ${info.id}${m.subject_code ? " · " + m.subject_code : ""}`;
  $("subtitle").textContent = [info.station && `station ${info.station}`,
    localTime(info.started_utc), m.position,
    m.category && `category ${m.category}`, m.short_leg && `short leg: ${m.short_leg}`,
    `${fmtSpan(info.duration_s)} recorded`, info.status].filter(Boolean).join(" · ");
  $("end-reason").hidden = !info.end_reason;
  $("end-reason").textContent = info.end_reason
    ? `Ended ${info.status} at ${fmtDuration(info.duration_s)}: ${info.end_reason}` : "";
  $("decoded-nothing").hidden = !info.decoded_nothing;
  $("decoded-nothing").textContent = info.decoded_nothing || "";
  $("replay").href = `/replay/${info.id}`;
  $("report").href = `/api/sessions/${info.id}/report.pdf`;
  $("print-footer").textContent = `sotlog ${info.software_version} · session ${info.uuid} · ` +
    V.intended_use;
  $("compare").href = `/sessions?compare=${info.id}`;
  const rows = [["port", info.port], ["device", info.device], ["profile", info.profile],
    ["software", `sotlog ${info.software_version} (format ${info.format_version})`],
    ["ended", info.ended_utc ? localTime(info.ended_utc) : "–"],
    ["calibration", calibrationText(info.conversion)],
    ...Object.entries(info.counters || {}).map(([k, v]) =>
      [`${k.replaceAll("_", " ")} (this session)`, plain(v)])];
  document.querySelector("#device tbody").replaceChildren(...rows.map(([k, v]) =>
    el("tr", {}, el("th", { text: k }), el("td", { text: v || "–" }))));
  renderEdits(document.querySelector("#edits tbody"), info.edits || [], P.role === "full", undo);
  $("zeros").replaceChildren(...(info.zeros || []).map((z) =>
    el("li", { "data-forced": z.forced ? "true" : null, text: z.text })));
}

// Put back what one edit changed; the page then shows the session as it reads now.
async function undo(e) {
  showError(null);
  try {
    const r = await api(`/api/sessions/${SID}/edits/${e.id}/undo`, { method: "POST" });
    $("saved").textContent = `Edit ${e.id} undone (as edit ${r.edit_id}) at ` +
      new Date().toLocaleTimeString() + ".";
    await load();
    await Promise.all([renderSummary(), renderEvents()]);
  } catch (err) { showError(err); }
}

async function renderSummary() {
  const unit = $("unit").value;
  const s = await api(`/api/sessions/${SID}/summary?units=${unit}`);
  renderTotals($("totals"), s);
  renderSummaryTable($("summary"), s);
  await Promise.all([renderMeasures(unit), renderFigures(unit)]);
}

// The descriptive measures, one row per measure and block, a column per window.
async function renderMeasures(unit) {
  const m = await api(`/api/sessions/${SID}/measures?units=${unit}`);
  $("measures-note").textContent = m.note;
  $("measures").querySelector("thead").replaceChildren(el("tr", {},
    el("th", { text: "of" }), el("th", { text: "measure" }),
    ...m.windows.map((w) => el("th", { class: "num", text: w.label })),
    el("th", { text: "formula" })));
  $("measures").querySelector("tbody").replaceChildren(...m.table.map((r) =>
    el("tr", { "data-formula": r.formula }, el("td", { text: r.of }),
      el("td", { text: r.name }),
      ...m.windows.map((w) => el("td", { class: "num",
        text: r.values[w.key] === null || r.values[w.key] === undefined ? "–"
          : `${fmt(r.values[w.key], r.digits)} ${r.unit}` })),
      el("td", { class: "muted small", text: r.formula }))));
  $("measures-formula").textContent = m.formulas.symmetry
    ? `symmetry index = ${m.formulas.symmetry}. Every formula: docs/metrics.md.` : "";
}

// The pictures `sotlog plot` draws for this session, each with downloads for slides.
async function renderFigures(unit) {
  P.figures = P.figures || await api(`/api/sessions/${SID}/figures`);
  $("figures").replaceChildren(...P.figures.map((f) => {
    const base = `/api/sessions/${SID}/figures/${f.kind}`;
    // the figure changes with each edit (a tare, a calibration): its URL says which edit
    const version = (P.info.edits || []).length;
    const img = el("img", { src: `${base}.png?units=${unit}&edits=${version}`, alt: f.help,
      "data-kind": f.kind,
      id: f.kind === "force" ? "plot" : null, loading: "lazy" });
    const links = f.types.map((t) => el("a", { href: `${base}.${t}?units=${unit}&download=true`,
      download: `session-${SID}-${f.kind}.${t}`, "data-download": `${f.kind}.${t}`,
      text: t.toUpperCase() }));
    return el("figure", { class: "figure" }, img, el("figcaption", {},
      el("span", { text: f.help }), el("span", { class: "downloads" }, "download ", ...links)));
  }));
}

async function renderEvents() {
  const events = await api(`/api/sessions/${SID}/events`);
  renderEventRows(document.querySelector("#events tbody"), events, P.role === "full", eventAction);
}

// Confirm, move or delete a detected event, or find them again (detect); each is an edit, so the
// edit history and the events redraw.
async function eventAction(action, e, timeS) {
  showError(null);
  const base = `/api/sessions/${SID}`;
  const requests = {
    confirm: () => api(`${base}/events/${e.id}/confirm`, { method: "POST" }),
    move: () => api(`${base}/events/${e.id}/move`, { method: "POST", body: { time_s: timeS } }),
    delete: () => api(`${base}/events/${e.id}`, { method: "DELETE" }),
    detect: () => api(`${base}/detect`, { method: "POST" }),
  };
  try {
    const r = await requests[action]();
    $("events-said").textContent = r.edit_id === null
      ? "Detection finds what is stored already: nothing changed."
      : `Done (edit ${r.edit_id}; Undo in the edit history takes it back).`;
    await load();
    await renderEvents();
  } catch (err) { showError(err); }
}

async function renderDownloads() {
  const formats = await api("/api/exports");
  $("downloads").replaceChildren(...formats.map((f) => f.available
    ? el("a", { href: `/api/sessions/${SID}/exports/${f.name}`, download: "",
      title: f.description, text: `${f.name} — ${f.description}` })
    : el("span", { class: "muted", title: f.missing, text: `${f.name} (not installed)` })));
}

async function save() {
  showError(null);
  const m = P.info.meta, changes = {};
  for (const f of META_FIELDS) {
    let v = $(f).value.trim();
    if (f === "body_weight_kg") v = v === "" ? null : Number(v);
    else if (f !== "note") v = v || null;
    if (v !== m[f] && !(v === null && m[f] === undefined)) changes[f] = v;
  }
  const blocks = P.setup.blocks.map((b) => ({ side: b.side, landmark: b.landmark,
    angle_deg: Number.isFinite(b.angle_deg) ? b.angle_deg : null, channel: b.channel || null }));
  if (JSON.stringify(blocks) !== JSON.stringify(m.blocks)) changes.blocks = blocks;
  if (!Object.keys(changes).length) { $("saved").textContent = "Nothing changed."; return; }
  try {
    await api(`/api/sessions/${SID}`, { method: "PATCH", body: changes });
    const labels = Object.keys(changes).map((f) => FIELD_WORDS[f] || f);
    $("saved").textContent = `Saved ${labels.join(", ")} at ` +
      new Date().toLocaleTimeString() + "; the earlier values are kept below.";
    await load();
    await renderSummary();  // the figures carry the metadata: drawn again
  } catch (err) { showError(err); }
}

async function load() {
  P.info = await api(`/api/sessions/${SID}`);
  P.setup.channels = P.info.channels.map((name) => ({ name,
    block: P.info.sides[name] || (["left", "right"].includes(name) ? name : null) }));
  renderHeader(P.info);
  fillMeta(P.info.meta);
}

async function main() {
  $("save").addEventListener("click", save);
  $("position").addEventListener("change", metaChanged);
  $("add-block").addEventListener("click", () => { addBlock(P.setup); metaChanged(); });
  $("detect").addEventListener("click", () => eventAction("detect"));
  try {
    await loadVocabulary();
    const access = await api("/api/access");
    P.role = access.role;
    bindUnitSelect($("unit"), access.units, () => renderSummary().catch(showError));
    if (access.role !== "full") {
      for (const n of document.querySelectorAll("#meta input, #meta select, #save, #add-block, #detect")) {
        n.disabled = true;
      }
    }
    await load();
    await Promise.all([renderSummary(), renderEvents(), renderDownloads(),
      initRegions(SID, P.info, async () => { await load(); await renderSummary(); })]);
  } catch (err) { showError(err); }
}

main();
