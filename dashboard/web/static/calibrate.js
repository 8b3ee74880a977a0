// Calibrate the open device with known weights: the steps of sotlog calibrate, on a page.
"use strict";

const $ = (id) => document.getElementById(id);
const K = { status: {}, unit: "N", run: null, polling: null, live: {}, channels: [], role: "full" };
const STEP_WORDS = { waiting: "waiting for you", settling: "settling…", settled: "settled" };

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; }

async function act(fn) {
  showError(null);
  try { return await fn(); } catch (err) { showError(err); return null; }
}

const inUnit = (newtons) => newtons / newtonsPer(K.unit);

// ---- the device and what it reads now -------------------------------------------------------

function renderDevice() {
  const st = K.status;
  const pill = $("state");
  pill.className = "pill " + (st.state || "closed");
  pill.textContent = st.url ? (st.state === "disconnected" ? "device lost" : st.state) : "no device";
  if (!st.url) {
    $("device").replaceChildren("No device is open: ", el("a", { href: "/", text: "open one on the Live page" }), ".");
  } else {
    const cal = st.calibration;
    $("device").textContent = `${st.url} · ${st.profile} · ` + (cal
      ? `read now with calibration ${cal.ids.join(", ")}` : "read now with the profile's scale");
  }
  const busy = K.run && K.run.state === "running";
  $("start").disabled = K.role !== "full" || !st.url || st.state !== "connected" || !!st.recording || busy;
}

function openStream() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/live?mat=false`);  // no heat map here
  ws.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "hello") {
      K.channels = data.channels;
      renderChannels();
      return;
    }
    for (const c of K.channels) {
      const values = data.values[c.name] || [];
      if (values.length) K.live[c.name] = values[values.length - 1];
    }
    const before = `${K.status.state}|${K.status.url}|${JSON.stringify(K.status.calibration)}`;
    K.status = { ...K.status, ...data.status };  // the keys that changed
    const st = K.status;
    if (`${st.state}|${st.url}|${JSON.stringify(st.calibration)}` !== before) {
      renderDevice();
      renderChannels();
    }
    $("reading").textContent = K.channels.length ? "now: " + K.channels.map((c) => {
      const unit = c.unit === "N" ? K.unit : c.unit;
      return `${c.name} ${fmtIn(toUnit(K.live[c.name], c.unit, K.unit), unit)} ${unit}`;
    }).join(" · ") : "";
  };
  ws.onclose = () => setTimeout(openStream, 1000);
}

function renderChannels() {
  K.isMat = !!K.status.matrix;
  $("mode-l").hidden = !K.isMat;
  $("channels-box").hidden = K.isMat;
  if (K.isMat) return;
  const ticked = new Set([...document.querySelectorAll("#channels input:not(:checked)")]
    .map((i) => i.value));
  $("channels").replaceChildren(...K.channels.map((c) => el("label", { class: "check" },
    el("input", { type: "checkbox", value: c.name, checked: !ticked.has(c.name),
      "data-channel": c.name }), ` ${c.name}${c.block ? ` (${c.block} block)` : ""}`)));
}

// ---- a run -----------------------------------------------------------------------------------

function request() {
  const weights = $("weights").value.split(/[,;\s]+/).filter(Boolean).map(Number);
  if (!weights.length || weights.some((w) => !Number.isFinite(w))) {
    throw new Error("known loads must be numbers separated by commas, e.g. 0, 5, 10, 20");
  }
  const num = (id) => Number($(id).value);
  return {
    mode: K.isMat ? $("mode").value : "cells",
    channels: K.isMat ? [] : [...document.querySelectorAll("#channels input:checked")].map((i) => i.value),
    weights, unit: $("load-unit").value, fit: $("fit").value, scripted: $("scripted").checked,
    window_s: num("window_s"), settle_sd: num("settle_sd"), timeout_s: num("timeout_s"),
    by: $("by").value.trim(), note: $("note").value.trim(),
  };
}

function renderRun(run) {
  K.run = run;
  $("run").hidden = !run || run.state === "none";
  if (!run || run.state === "none") return;
  const words = { running: "running", fitted: "fitted — check and save", failed: "failed",
    cancelled: "cancelled", saved: "saved" };
  $("run-state").textContent = words[run.state] || run.state;
  $("run-state").className = "pill " + (run.state === "failed" ? "disconnected"
    : run.state === "running" ? "connecting" : "connected");
  $("placed").disabled = !run.asking;
  $("cancel").disabled = run.state !== "running";
  $("steps").replaceChildren(...run.steps.map((s, i) => el("li", { class: "step " + s.state,
    "data-state": s.state, "data-step": i },
    el("span", { class: "pill step-state", text: STEP_WORDS[s.state] || s.state }),
    el("span", { class: "prompt", text: s.prompt }),
    s.detail && s.state === "settling" ? el("div", { class: "muted small", text: s.detail }) : "",
    ...s.settled.map((t) => el("div", { class: "settled small", text: t })))));
  $("notes").replaceChildren(...run.notes.map((n) => el("li", { text: n })));
  if (run.error) showError(run.error);
  $("result").hidden = !run.records.length || run.state === "cancelled";
  renderRecords(run);
  renderDevice();
}

function renderRecords(run) {
  $("save").disabled = run.state !== "fitted";
  $("discard").disabled = run.state !== "fitted";
  $("saved").textContent = run.state === "saved"
    ? `Saved as calibration ${run.saved_ids.join(", ")}. The live view and the next sessions read with it.`
    : "";
  $("records").replaceChildren(...run.records.map((r) => recordView(r)));
}

function recordView(r) {
  const f = r.fit;
  const head = el("h3", { class: "small", text: `${r.channel} · ${r.kind}` +
    (f ? ` · ${f.fit} fit` : "") + (r.id ? ` · calibration ${r.id}` : "") });
  if (!f) return el("div", { class: "record", "data-channel": r.channel }, head,
    el("p", { text: r.note || "no force fit (sensel gains only)" }));
  // every number through the one rounding rule (fmtIn), but the known load: as it was typed
  const rows = r.points.map((p, i) => el("tr", {},
    el("td", { class: "num", text: `${p.load} ${r.unit}` }),
    el("td", { class: "num", text: `${fmtIn(inUnit(p.load_n), K.unit)} ${K.unit}` }),
    el("td", { class: "num", text: fmtIn(p.raw_mean, "raw") }),
    el("td", { class: "num", text: fmtIn(p.raw_sd, "raw") }),
    el("td", { class: "num", text: String(p.n) }),
    el("td", { class: "num residual", text: `${fmtIn(inUnit(f.residuals_n[i]), K.unit)} ${K.unit}` })));
  const gain = f.coef.length > 1 ? f.coef[1] : NaN;
  return el("div", { class: "record", "data-channel": r.channel }, head,
    el("table", {}, el("thead", {}, el("tr", {}, ...["load", `known (${K.unit})`, "raw mean",
      "raw SD", "frames", `residual (${K.unit})`].map((h) => el("th", { class: "num", text: h })))),
      el("tbody", {}, ...rows)),
    el("div", { class: "readout fit-figures" },
      big("RMS residual", fmtIn(inUnit(f.rms_residual_n), K.unit), K.unit),
      big("largest residual", fmtIn(f.max_residual_pct_fs, "%"), "% FS", "max-residual"),
      big("non-linearity", fmtIn(f.nonlinearity_pct_fs, "%"), "% FS", "nonlinearity"),
      big("full scale", fmtIn(inUnit(f.full_scale_n), K.unit), K.unit),
      big("gain at zero", fmtIn(inUnit(gain), `${K.unit}/count`), `${K.unit}/count`),
      big("zero", fmtIn(f.zero_raw, "raw"), "raw")));
}

function big(name, value, unit, id) {
  return el("div", { class: "big", "data-figure": id || null },
    el("div", { class: "name", text: name }),
    el("div", {}, el("span", { class: "value", text: value }), el("span", { class: "unit", text: unit })));
}

async function poll() {
  const run = await api("/api/calibration").catch((err) => { showError(err); return null; });
  if (run) renderRun(run);
  if (run && run.state === "running") {
    K.polling = setTimeout(poll, 300);
  } else {
    K.polling = null;
    await loadStored();
  }
}

function startPolling() { if (!K.polling) poll(); }

// ---- stored records --------------------------------------------------------------------------

async function loadStored() {
  const profile = $("this-profile").checked && K.status.profile ? `?profile=${encodeURIComponent(K.status.profile)}` : "";
  const rows = await api(`/api/calibrations${profile}`);
  const inUse = new Set(((K.status.calibration || {}).ids) || []);
  const tbody = document.querySelector("#stored tbody");
  tbody.replaceChildren(...rows.map((c) => {
    const f = c.fit;
    return el("tr", { "data-calibration": c.id, class: inUse.has(c.id) ? "selected" : "" },
      el("td", { class: "num", text: String(c.id) }), el("td", { class: "num", text: String(c.batch) }),
      el("td", { text: localTime(c.created_utc) }), el("td", { text: c.profile_name }),
      el("td", { text: c.channel }), el("td", { text: c.kind }), el("td", { text: f ? f.fit : "–" }),
      el("td", { class: "num", text: String(c.points.length) }),
      el("td", { class: "num", text: f ? `${fmtIn(inUnit(f.rms_residual_n), K.unit)} ${K.unit}` : "–" }),
      el("td", { class: "num", text: f ? `${fmtIn(f.nonlinearity_pct_fs, "%")} % FS` : "–" }),
      el("td", { text: c.by || "–" }),
      el("td", { class: "muted", text: inUse.has(c.id) ? "in use now" : "" }));
  }));
  if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: 12, class: "muted",
    text: "No calibrations stored yet." })));
}

// ---- start -----------------------------------------------------------------------------------

function bind() {
  $("start").addEventListener("click", () => act(async () => {
    const run = await api("/api/calibration", { method: "POST", body: request() });
    renderRun(run);
    startPolling();
  }));
  $("placed").addEventListener("click", () => act(async () => {
    $("placed").disabled = true;
    renderRun(await api("/api/calibration/placed", { method: "POST" }));
  }));
  $("cancel").addEventListener("click", () => act(() => api("/api/calibration", { method: "DELETE" })));
  $("discard").addEventListener("click", () => act(async () => {
    await api("/api/calibration", { method: "DELETE" });
    renderRun(await api("/api/calibration"));
  }));
  $("save").addEventListener("click", () => act(async () => {
    await api("/api/calibration/save", { method: "POST" });
    K.status = await api("/api/status");
    renderRun(await api("/api/calibration"));
    await loadStored();
  }));
  $("this-profile").addEventListener("change", () => loadStored().catch(showError));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !$("placed").disabled && !["input", "select", "textarea"].includes(
      (e.target.tagName || "").toLowerCase())) {
      e.preventDefault();
      $("placed").click();
    }
  });
}

async function main() {
  bind();
  try {
    await loadVocabulary();
    const access = await api("/api/access");
    K.role = access.role;
    K.unit = bindUnitSelect($("unit"), access.units, (u) => {
      K.unit = u;
      if (K.run) renderRecords(K.run);
      loadStored().catch(showError);
    });
    K.status = await api("/api/status");
    renderDevice();
    renderChannels();
    renderRun(await api("/api/calibration"));
    if (K.run && K.run.state === "running") startPolling();
    await loadStored();
    openStream();
    document.body.dataset.ready = "true";
  } catch (err) { showError(err); }
}

main();
