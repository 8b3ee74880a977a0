// The live page: device, session setup, Tare/Start/Stop, events, and the live stream.
// At /replay/<id> the same page plays a recorded session instead (replay.js).
"use strict";

const $ = (id) => document.getElementById(id);
const KEEP_S = 125;  // seconds of stream kept in the page (the widest window is 120 s)

const S = {
  role: "full", channels: [], t: [], series: {}, total: [], events: [], seen: new Set(),
  status: {}, streamUp: false, unit: null, window: 60, loadedAt: null, listed: new Set(),
  listFor: null, setupShows: null, clock: null, awayKind: null, awaySince: null, copTrail: [],
  heatTop: 0, ticks: 0,
  setup: { position: null, blocks: [], selected: -1, channels: [] },
  replay: null,  // set by replay.js
  away: null,  // set below: what the page does while the server cannot be reached (outage.js)
};

// ---- setup: form + pelvis + block table, one state ------------------------------------------

function setupChanged() {
  S.setup.channels = S.channels;
  S.setup.position = document.querySelector("input[name=position]:checked").value;
  renderPelvis($("pelvis"), S.setup, setupChanged);
  renderBlockTable($("block-rows"), S.setup, setupChanged);
}

function readMeta() {
  const val = (id) => $(id).value.trim();
  const bw = val("body_weight_kg");
  return {
    subject_code: val("subject_code") || null,
    position: S.setup.position,
    category: val("category") || null,
    short_leg: val("short_leg") || null,
    body_weight_kg: bw === "" ? null : Number(bw),
    note: val("note"),
    blocks: S.setup.blocks.map((b) => ({ side: b.side, landmark: b.landmark,
      angle_deg: Number.isFinite(b.angle_deg) ? b.angle_deg : null, channel: b.channel || null })),
  };
}

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; }

// A marker or a note says nothing without its text.
function needsText(kind) { return V.text_event_kinds.includes(kind); }

async function act(fn) {
  showError(null);
  try { return await fn(); } catch (err) { showError(err); return null; }
}

// ---- device --------------------------------------------------------------------------------

async function loadDevices() {
  const data = await api("/api/devices");
  const current = S.status.url;
  const ports = [...data.ports];
  if (current && !ports.some((p) => p.device === current)) {  // e.g. given with --port
    ports.unshift({ device: current, description: `open now: ${current}`, simulated: true });
  }
  $("port").replaceChildren(...ports.map((p) => el("option", {
    value: p.device, "data-profile": p.profile || "", selected: p.device === current,
    text: `${p.description}${p.simulated ? "" : " — " + p.device}` })));
  $("profile").replaceChildren(...data.profiles.map((name) =>
    el("option", { value: name, text: name, selected: name === S.status.profile })));
  suggestProfile();
}

function suggestProfile() {
  const opt = $("port").selectedOptions[0];
  if (opt && opt.dataset.profile && !S.status.url) $("profile").value = opt.dataset.profile;
}

// ---- the stream ----------------------------------------------------------------------------

let socket = null, retryMs = 500;

function openStream() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/api/live`);
  socket.binaryType = "arraybuffer";  // a mat's frames come as binary messages
  socket.onopen = () => { S.streamUp = true; retryMs = 500; renderStatus(); };
  socket.onmessage = (msg) => {
    if (typeof msg.data !== "string") { onMat(decodeMatFrame(msg.data)); return; }
    const data = JSON.parse(msg.data);
    if (data.type === "hello") onHello(data); else onBatch(data);
  };
  socket.onclose = () => {
    S.streamUp = false;
    renderStatus();
    setTimeout(openStream, retryMs);  // the page recovers by itself when the server is back
    retryMs = Math.min(retryMs * 2, 5000);
  };
}

function onHello(hello) {
  S.channels = hello.channels;
  S.mainUnit = mainUnit(S.channels);
  // the hub sends the events it keeps again after a hello: the list starts afresh
  S.t = []; S.total = []; S.events = []; S.seen = new Set(); S.listed = new Set();
  $("events").replaceChildren();
  S.series = Object.fromEntries(S.channels.map((c) => [c.name, []]));
  $("matview").hidden = true;
  const known = new Set(S.channels.map((c) => c.name));
  for (const b of S.setup.blocks) if (b.channel && !known.has(b.channel)) b.channel = null;
  setupChanged();
}

function onBatch(batch) {
  const n = batch.t.length;
  for (let i = 0; i < n; i++) {
    S.t.push(batch.t[i]);
    for (const c of S.channels) S.series[c.name].push(batch.values[c.name][i]);
    S.total.push(totalOf(S.channels, S.mainUnit, (c) => batch.values[c.name][i]));
  }
  if (n) S.clock = { t: batch.t[n - 1], wall: Date.now() };
  if (S.t.length > 4000 && S.t[0] < S.t[S.t.length - 1] - KEEP_S - 5) {
    const cut = lowerBound(S.t, S.t[S.t.length - 1] - KEEP_S);
    S.t.splice(0, cut); S.total.splice(0, cut);
    for (const name of Object.keys(S.series)) S.series[name].splice(0, cut);
  }
  // The status comes as the keys that changed since the last batch that carried any.
  const before = controlsKey();
  if (batch.status) {
    S.status = { ...S.status, ...batch.status };
    if ("loaded_s" in batch.status) S.loadedAt = S.t.length ? S.t[S.t.length - 1] : null;
  }
  for (const e of batch.events || []) addEvent(e);
  if (controlsKey() !== before) renderControls();
  listEvents();
  renderStatus();
  S.away.seen(S.status, n ? batch.t[n - 1] : null);
}

// The centre of pressure's path over the last TRAIL_S seconds of frames, drawn on the heat map.
const TRAIL_S = 5;

function onMat(mat) {
  S.lastMat = mat;
  $("matview").hidden = false;
  if (mat.cop) S.copTrail.push([mat.host_time, mat.cop.row, mat.cop.col]);
  while (S.copTrail.length && S.copTrail[0][0] < mat.host_time - TRAIL_S) S.copTrail.shift();
  S.heatTop = scaleTop(S.heatTop, mat, highestOf(mat.values));
  S.matDue = true;  // drawn on the next animation frame
}

// The newest mat frame, when one came since the last animation frame.
function drawLiveMat() {
  if (!S.matDue) return;
  S.matDue = false;
  const mat = S.lastMat;
  drawHeatmap($("mat"), mat, { trail: S.copTrail.map(([, row, col]) => [row, col]),
    top: S.heatTop });
  $("mat-info").textContent = matInfo(mat);
}

// Seconds on the blocks now: loaded_s comes every half second at most, so while the load is on
// it goes on counting with the samples' own clock from the newest sample it had counted.
function loadedSeconds(tEnd) {
  const st = S.status;
  const since = st.loaded && S.loadedAt !== null ? Math.max(0, tEnd - S.loadedAt) : 0;
  return (st.loaded_s || 0) + since;
}

function addEvent(e) {
  if (S.seen.has(e.id)) return;
  S.seen.add(e.id);
  S.events.push(e);
}

// ---- rendering -----------------------------------------------------------------------------

function renderStatus() {
  const st = S.status;
  const pill = $("state");
  const state = !S.streamUp ? "lost" : st.state || "closed";
  const words = { connected: "connected", connecting: "connecting…", disconnected: "device lost",
    stalled: `device silent ${fmt(st.silent_s || 0, 0)} s`,
    closed: "no device", stopped: "no device", lost: "live stream lost — reconnecting" };
  pill.className = "pill " + state;
  pill.textContent = words[state] || state;
  $("rate-value").textContent = fmtIn(st.rate_hz || 0, "frames/s");
  renderCounters($("counters"), st.counters, "device since connect:", st.decoded_nothing);
  const sc = $("session-counters");
  sc.hidden = !st.recording;
  if (st.recording) {
    renderCounters(sc, st.session_counters, "this session:", st.session_decoded_nothing);
  }
  showAway();
  const banner = $("banner");
  const problem = !S.streamUp ? "The live stream is down; reconnecting…" + (S.away.watching
    ? " Events you mark now are kept in this page and sent when the server is back." : "")
    : st.state === "disconnected" ? `Device lost: ${st.error || st.url}. Waiting for it to come back; the gap is recorded.`
    : st.state === "stalled" ? `No data from ${st.url} for ${fmt(st.silent_s || 0, 0)} s: the port is open but the device is silent. The gap is recorded.`
    : st.error ? st.error : "";
  banner.hidden = !problem || !!S.replay;
  banner.textContent = problem;
  const rec = $("rec");
  rec.hidden = !st.recording;
  if (st.recording) rec.textContent = `recording · session ${st.recording.session_id}`;
  $("device-now").textContent = st.url ? `open: ${st.url} · ${st.profile}` : "no device open";
  const cal = st.calibration;
  $("device-cal").textContent = !st.url ? "" : cal
    ? `read with calibration ${cal.ids.join(", ")} (` +
      Object.entries(cal.channels).map(([n, c]) => `${n}: ${c.fit}, ${(c.created_utc || "").slice(0, 10)}`).join("; ") + ")"
    : "read with the profile's scale (no calibration stored for it)";
}

function controlsKey() {
  const rec = S.status.recording;
  return `${S.status.state}|${rec ? rec.session_id : ""}|${S.status.url}`;
}

function renderControls() {
  const st = S.status, full = S.role === "full";
  const connected = ["connected", "stalled", "disconnected"].includes(st.state);
  const recording = !!st.recording;
  $("tare").disabled = !full || st.state !== "connected";
  $("start").disabled = !full || !connected || recording;
  $("stop").disabled = !full || !recording;
  $("connect").disabled = !full || recording;
  $("disconnect").disabled = !full || recording || !st.url;
  for (const b of document.querySelectorAll("#eventbar button")) b.disabled = !full || !recording;
  showRecordingSetup();
  for (const f of document.querySelectorAll("#setup input, #setup select, #setup button")) {
    f.disabled = !full || recording;
  }
}

function frame() {
  requestAnimationFrame(frame);
  S.ticks++;  // the page's own drawing rate, against which a replay's frame rate is measured
  if (!S.replay) drawLiveMat();
  const view = S.replay ? S.replay.view() : liveView();
  if (!view) return;
  traces.draw(view);
  readout.build(view.channels, view.sides, view.blocks);
  readout.update(view.channels, view.sides, view.now);
}

function liveView() {
  const rec = S.status.recording;
  const blocks = rec && rec.meta ? rec.meta.blocks : S.setup.blocks;
  const sides = channelSides(S.channels, blocks);
  const n = S.t.length;
  const tEnd = n ? S.t[n - 1] : 0;
  const bw = rec && rec.meta ? rec.meta.body_weight_kg : Number($("body_weight_kg").value) || null;
  return {
    channels: S.channels, sides, blocks,
    ...traceView(S.t, S.series, S.total, S.events, sides, tEnd, rec ? rec.t_start : tEnd,
      n ? null : (S.status.url ? "waiting for data…" : "no device open")),
    now: { values: recentMeans(S.t, S.series, n), unit: S.unit, bodyWeightKg: bw,
      loaded: !!S.status.loaded, loadedS: rec ? loadedSeconds(tEnd) : NaN,
      elapsedS: rec ? tEnd - rec.t_start : NaN },
  };
}

function traceView(t, series, total, events, sides, tEnd, origin, empty) {
  const k = newtonsPer(S.unit);
  const main = mainUnit(S.channels);
  const force = main === "N";
  const scaled = (values, unit) => (unit === "N" && k !== 1
    ? values.map((v) => (v === null ? null : v / k)) : values);
  const list = blockChannels(S.channels).map((c, i) => ({ name: c.name,
    colour: channelColour(sides[c.name], i), values: scaled(series[c.name] || [], c.unit) }));
  if (drawsTotal(S.channels)) {
    list.push({ name: "total", colour: "#2b2f36", width: 2.5, values: scaled(total, main) });
  }
  const unit = force ? S.unit : main || (S.channels[0] || {}).unit || "";
  return { t, series: list, events, tEnd, window: S.window, origin, empty, unit,
    unitLabel: force ? `force (${S.unit})` : unit, minRange: force ? 10 / k : 1 };
}

// ---- actions -------------------------------------------------------------------------------

// A person's mark in the recording the page shows. While the server cannot be reached (the
// stream is down, or the request does not get through) it is kept in the page with its session
// and session time, and sent when the server is back (outage.js).
async function markEvent(kind) {
  const watching = S.away.watching;
  if (!watching || S.role !== "full" || S.replay) return;
  const input = $("event-text");
  const text = input.value.trim();
  if (needsText(kind) && !text) {
    input.focus();
    input.dataset.pending = kind;
    input.placeholder = `type the ${kind} text, then Enter`;
    return;
  }
  const done = () => {
    if (needsText(kind)) input.value = "";
    input.placeholder = input.getAttribute("aria-label");
    delete input.dataset.pending;
  };
  const at = S.away.sessionTime();  // now, on the page's own clock
  showError(null);
  if (!S.streamUp) { S.away.keep(kind, text, at); done(); return; }
  try {
    // the stream brings it back with the hub's id, onto the list and the traces
    await api("/api/events", { method: "POST", body: { kind, text } });
    done();
  } catch (err) {
    if (!err.network) { showError(err); return; }
    S.away.keep(kind, text, at);
    done();
  }
}

function bindActions() {
  $("port").addEventListener("change", suggestProfile);
  $("connect").addEventListener("click", () => act(async () => {
    const st = await api("/api/connection", { method: "PUT",
      body: { url: $("port").value, profile: $("profile").value } });
    // with the stream up, the status it sends after its hello is the newer one
    if (!S.streamUp) { S.status = st; renderStatus(); renderControls(); }
  }));
  $("disconnect").addEventListener("click", () => act(async () => {
    await api("/api/connection", { method: "DELETE" });
  }));
  $("tare").addEventListener("click", () => act(() => tare(false)));
  $("tare-anyway").addEventListener("click", () => act(() => tare(true)));
  $("tare-keep").addEventListener("click", () => showRefusal(null));
  $("start").addEventListener("click", () => act(async () => {
    const r = await api("/api/recording", { method: "POST", body: readMeta() });
    $("saved").textContent = `Recording session ${r.session_id}…`;
  }));
  $("stop").addEventListener("click", () => act(async () => {
    const r = await S.away.stopping(() => api("/api/recording/stop", { method: "POST" }));
    $("saved").replaceChildren(`Session ${r.session_id} saved. `,
      el("a", { href: `/sessions/${r.session_id}`, text: "Open it" }),
      ...(r.decoded_nothing ? [" ", el("span", { class: "decoded-nothing", text: r.decoded_nothing })] : []));
  }));
  for (const b of document.querySelectorAll("#eventbar button")) {
    b.addEventListener("click", () => markEvent(b.dataset.kind));
  }
  $("event-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); markEvent(e.target.dataset.pending || V.text_event_kinds[0]); }
    if (e.key === "Escape") e.target.blur();
  });
  $("window").addEventListener("change", () => { S.window = Number($("window").value); });
  $("present").addEventListener("click", togglePresent);
  $("add-block").addEventListener("click", () => { addBlock(S.setup); setupChanged(); });
  for (const r of document.querySelectorAll("input[name=position]")) {
    r.addEventListener("change", setupChanged);
  }
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => { if ($("mat")._last) drawHeatmap($("mat"), ...$("mat")._last); });
}

// Tare on the next second. A refusal (moving or loaded blocks: 409 with `refused`) changes
// nothing: the page says why, in the server's words, and offers to tare anyway.
async function tare(force) {
  showRefusal(null);
  const button = $("tare");
  button.disabled = true;
  button.textContent = force ? "Taring anyway…" : "Taring… keep the blocks unloaded";
  try {
    const r = await api("/api/tare", { method: "POST", body: { seconds: 1.0, force } });
    const span = `${r.frames} frames over ${fmtIn(r.window_s, "s")} s`;
    $("saved").textContent = r.forced
      ? `Tared anyway on ${span}; kept with the tare: ` +
        (r.problems || []).map((p) => p.text).join("; ") + "."
      : `Tared on ${span}.`;
  } catch (err) {
    if (err.status !== 409 || !err.body.refused) throw err;
    $("saved").textContent = "";  // an earlier "Tared on" must not stand beside a refusal
    showRefusal(err.message);
  } finally { button.textContent = "Tare"; renderControls(); }
}

function showRefusal(detail) {
  $("tare-refused").hidden = !detail;
  $("tare-refused-text").textContent = detail || "";
  $("tare-anyway").disabled = S.role !== "full";
}

function setWindow(seconds) {
  const select = $("window");
  if (![...select.options].some((o) => Number(o.value) === seconds)) {
    select.append(el("option", { value: seconds, text: `${seconds} s` }));
  }
  S.window = seconds;
  select.value = String(seconds);
}

// ---- start ---------------------------------------------------------------------------------

const traces = new Traces($("traces"));
const readout = new Readout($("readout"), $("legend"));
fitTraces(document.querySelector(".stage .traces"), $("eventbar"));

async function main() {
  try { await Promise.all([loadVocabulary(), loadColourMap()]); } catch (err) { showError(err); return; }
  S.setup.position = document.querySelector("input[name=position]:checked").value;
  S.away = new Away($("queued-box"), $("notice"), (id) => {
    $("saved").textContent = "";  // no "Recording session N…" for a session that has ended
    showRefusal(null);
  });
  $("window").value = String(S.window);
  bindActions();
  setupChanged();
  requestAnimationFrame(frame);
  const replayId = (location.pathname.match(/^\/replay\/(\d+)/) || [])[1];
  if (replayId) {
    S.unit = bindUnitSelect($("unit"), null, (u) => { S.unit = u; });
    await startReplay(Number(replayId));
    return;
  }
  const access = await api("/api/access").catch(() => ({ role: "full" }));
  S.role = access.role;
  S.unit = bindUnitSelect($("unit"), access.units, (u) => { S.unit = u; });
  if (access.window_s) setWindow(access.window_s);
  if (S.role !== "full") {
    document.querySelector(".setup").hidden = true;
    document.querySelector("main").style.gridTemplateColumns = "1fr";
  }
  try { S.status = await api("/api/status"); } catch (err) { showError(err); }
  S.away.start(S.status);
  renderStatus();
  renderControls();
  await act(loadDevices);
  openStream();
}

main();
