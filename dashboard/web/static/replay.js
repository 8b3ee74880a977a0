// Replay a recorded session in the live view: 0.25x to 8x, pause, scrub. A long session is
// asked for a page of samples at a time: the first plays at once, the rest load behind it.
"use strict";

const FIRST_PAGE_S = 60;  // what plays at once
const PAGE_S = 600;  // what each later request brings

async function startReplay(id) {
  document.title = `sotlog · replay of session ${id}`;
  for (const sel of [".setup", "#tare", "#start", "#stop", "#eventbar", "#rec-h"]) {
    document.querySelector(sel).hidden = true;
  }
  document.querySelector("main").style.gridTemplateColumns = "1fr";
  $("replaybar").hidden = false;
  $("state").className = "pill";
  $("state").textContent = `replay · session ${id}`;
  document.querySelector(".status #rate").hidden = true;
  const page = (t0, t1) => api(`/api/sessions/${id}/samples?units=N&t0=${t0}&t1=${t1}`);
  const [info, samples, events] = await Promise.all([
    api(`/api/sessions/${id}`), page(0, FIRST_PAGE_S),
    api(`/api/sessions/${id}/events`)]).catch((err) => { showError(err); return [null]; });
  if (!info) return;
  renderCounters($("counters"), info.counters || {}, "this session:", info.decoded_nothing);
  const meta = info.meta || {};
  S.channels = samples.names.map((name, i) => ({ name, unit: samples.units[i],
    block: (samples.sides || {})[name] || null }));
  S.t = [];
  S.series = Object.fromEntries(samples.names.map((n) => [n, []]));
  S.mainUnit = mainUnit(S.channels);
  S.total = [];
  // on the blocks, by sotlog's rule over the stored session: per sample, and seconds so far
  const loaded = [], onBlocksS = [];
  const append = (p) => {
    const from = S.t.length;
    for (let i = 0; i < p.time_s.length; i++) {
      S.t.push(p.time_s[i]);
      for (const n of p.names) S.series[n].push(p.values[n][i]);
      S.total.push(totalOf(S.channels, S.mainUnit, (c) => S.series[c.name][from + i]));
      loaded.push(p.loaded[i]);
      onBlocksS.push(p.on_blocks_s[i]);
    }
  };
  append(samples);
  S.events = events.map((e) => ({ t: e.time_s, kind: e.kind, text: e.text || "",
    source: e.source }));
  for (const e of S.events) {
    $("events").append(el("li", { "data-kind": e.kind, "data-source": e.source }, el("span", { class: "t",
      text: fmtSessionTime(e.t) }), el("span", { class: "kind", text: e.kind }), e.text));
  }
  const duration = info.n_frames ? info.duration_s : 0;
  const R = S.replay = { t: 0, playing: true, speed: 1, last: performance.now(), duration,
    loadedTo: FIRST_PAGE_S };
  (async () => {  // the rest of the session, a page at a time, behind the replay
    for (let t0 = FIRST_PAGE_S; t0 <= duration; t0 += PAGE_S) {
      append(await page(t0, t0 + PAGE_S));
      R.loadedTo = t0 + PAGE_S;
    }
    R.complete = true;
  })().catch(showError);
  const scrub = $("scrub");
  scrub.max = String(duration);
  const label = [meta.subject_code, meta.position, meta.category && `category ${meta.category}`]
    .filter(Boolean).join(" · ");
  $("saved").textContent = `Session ${id}${label ? " · " + label : ""} · ` +
    `${localTime(info.started_utc)} · ${fmtSpan(duration)} recorded`;

  const isMat = (info.frame_shape || []).length === 2;
  const heat = isMat ? matPlayer(id) : null;
  const setPlaying = (on) => {
    R.playing = on && duration > 0;
    if (R.playing && R.t >= duration) R.t = 0;
    $("play").textContent = R.playing ? "Pause" : "Play";
    R.last = performance.now();
  };
  const seek = (t) => { R.t = Math.max(0, Math.min(duration, t)); R.last = performance.now(); };
  // one sample (a mat's frame) on or back, paused: the last sample at or before the time shown
  const step = (by) => {
    setPlaying(false);
    const at = lowerBound(S.t, R.t + 1e-9) - 1;
    const i = Math.max(0, Math.min(S.t.length - 1, at + by));
    if (S.t.length) seek(by < 0 && at >= 0 && S.t[at] < R.t - 1e-9 ? S.t[at] : S.t[i]);
  };
  const times = S.events.map((e) => e.t).sort((a, b) => a - b);
  // the next event after the time shown, or the one before it (half a second back, so that
  // pressing again while playing goes on to the one before)
  const jump = (dir) => {
    const t = dir > 0 ? times.find((x) => x > R.t + 1e-6)
      : times.filter((x) => x < R.t - (R.playing ? 0.5 : 1e-6)).pop();
    if (t !== undefined) seek(t);
  };
  $("play").addEventListener("click", () => setPlaying(!R.playing));
  $("speed").addEventListener("change", () => { R.speed = Number($("speed").value); });
  $("frame-back").addEventListener("click", () => step(-1));
  $("frame-on").addEventListener("click", () => step(1));
  $("event-back").addEventListener("click", () => jump(-1));
  $("event-on").addEventListener("click", () => jump(1));
  scrub.addEventListener("input", () => seek(Number(scrub.value)));
  // a pointer leaves no focus on the bar's controls: the keys stay the replay's
  $("replaybar").addEventListener("pointerup", (e) => {
    const c = e.target.closest("button, input");
    if (c) setTimeout(() => c.blur(), 0);
  });
  scrubTicks($("scrub-ticks"), S.events, duration, seek);
  const KEYS = { " ": () => setPlaying(!R.playing), ArrowRight: () => seek(R.t + 5),
    ArrowLeft: () => seek(R.t - 5), ".": () => step(1), ",": () => step(-1),
    "]": () => jump(1), "[": () => jump(-1), Home: () => seek(0), End: () => seek(duration) };
  // true when the key was the replay's (the page then keeps it from the focused control)
  R.onKey = (e) => {
    const act = KEYS[e.key];
    if (act) act();
    return !!act;
  };
  R.view = () => {
    const now = performance.now();
    if (R.playing) {
      R.t = Math.min(duration, R.t + ((now - R.last) / 1000) * R.speed);
      if (R.t >= duration) setPlaying(false);
    }
    R.last = now;
    scrub.value = String(R.t);
    $("replay-time").textContent =
      `${fmtDuration(R.t)} / ${fmtDuration(duration)} min:s · ${R.speed}×`;
    if (heat) heat(R.t, R.speed);
    const sides = channelSides(S.channels, meta.blocks);
    const end = lowerBound(S.t, R.t + 1e-9);
    const view = traceView(S.t, S.series, S.total, S.events, sides, Math.max(R.t, S.window), 0,
      S.t.length ? null : "this session has no samples");
    view.tLast = R.t;
    return { ...view, channels: S.channels, sides, blocks: meta.blocks,
      now: { values: recentMeans(S.t, S.series, end), unit: S.unit,
        bodyWeightKg: meta.body_weight_kg, loaded: end ? loaded[end - 1] : false,
        loadedS: end ? onBlocksS[end - 1] : 0, elapsedS: R.t,
        elapsedLabel: "replay time" } };
  };
  setPlaying(true);
}

// Each event as a tick under the scrub bar, in its kind's colour, at its time; its words on
// hover, and a click goes there.
function scrubTicks(node, events, duration, seek) {
  node.replaceChildren(...events.filter((e) => duration > 0 && e.t >= 0 && e.t <= duration)
    .map((e) => el("button", { type: "button", class: "tick", "data-kind": e.kind,
      "data-t": e.t, tabindex: "-1",
      title: `${fmtSessionTime(e.t)} ${e.kind}${e.text ? ": " + e.text : ""}`,
      "aria-label": `go to the ${e.kind} at ${fmtSessionTime(e.t)}`,
      style: `left:calc(8px + (100% - 16px) * ${e.t / duration});` +
        `background:${EVENT_COLOURS[e.kind] || "#777"}`,
      onclick: () => seek(e.t) })));
}

// A mat session's heat map plays every recorded frame at the replay time, from spans of frames
// asked for ahead of it (matframes.js). The page counts the frames it draws (S.matDrawn) and so
// measures its own frame rate.
const TRAIL_REPLAY_S = 5;

function matPlayer(id) {
  let shown = null, top = 0;
  const frames = new MatSpans(id, S.replay.duration, showError);
  S.matDrawn = { count: 0, waiting: 0, at: [], times: [], frames };
  $("matview").hidden = false;
  return (t, speed) => {
    const found = frames.find(t, speed, TRAIL_REPLAY_S);
    S.matDrawn.waiting = frames.waiting;  // frames not here yet: counted
    if (!found || (shown && shown.span === found.span && shown.i === found.i)) return;
    shown = found;
    const { span, i } = found;
    const mat = MatSpans.mat(found);
    const trail = [];
    for (let k = lowerBound(span.head.time_s, t - TRAIL_REPLAY_S); k <= i; k++) {
      if (span.head.cop[k]) trail.push(span.head.cop[k]);
    }
    S.lastMat = mat;
    top = scaleTop(top, mat, levelValue(mat, highestOf(mat.values, mat.missing)));
    drawHeatmap($("mat"), mat, { trail, top });
    const d = S.matDrawn;
    d.count++;
    d.at.push(performance.now());
    d.times.push(mat.time_s);
    if (d.at.length > 240) { d.at.shift(); d.times.shift(); }
    const k = lowerBound(S.t, mat.time_s + 1e-9) - 1;  // the frame's own sample: its total
    const total = k >= 0 ? S.total[k] : NaN;
    $("mat-info").textContent = `${fmtSessionTime(mat.time_s)} · total ${fmtIn(total, S.mainUnit)} ` +
      `${S.mainUnit || ""} · ${mat.full_rows}×${mat.full_cols} sensels`;
  };
}
