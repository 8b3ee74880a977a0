// What the live page shows beside the numbers about the session recording now and the device:
// the setup panel (the recording's own metadata, read-only), the list of events (this
// session's only), and the badge over greyed values while the device or the stream is away.
// Uses the live page's state S (live.js).
"use strict";

// While a session records, the setup panel shows that session's metadata as the server has it
// (so every tab, and the page after a reload, show the same) and takes no edits: later changes
// go through the session page's edit log. After Stop the form keeps them for the next session.
function showRecordingSetup() {
  const rec = S.status.recording;
  const id = rec ? rec.session_id : null;
  if (id === S.setupShows) return;
  S.setupShows = id;
  S.setup.readOnly = !!rec;
  const note = document.getElementById("setup-recording");
  note.hidden = !rec;
  if (rec) {
    note.replaceChildren(`Session ${id} is recording with this setup. Change it on `,
      el("a", { href: `/sessions/${id}`, text: "its session page" }), " after Stop.");
  }
  if (rec && rec.meta) fillSetup(rec.meta);
  setupChanged();
}

function fillSetup(m) {
  const set = (id, v) => { document.getElementById(id).value = v === null || v === undefined ? "" : v; };
  set("subject_code", m.subject_code);
  set("body_weight_kg", m.body_weight_kg);
  set("category", m.category);
  set("short_leg", m.short_leg);
  set("note", m.note);
  for (const r of document.querySelectorAll("input[name=position]")) r.checked = r.value === m.position;
  S.setup.blocks = (m.blocks || []).map((b) => ({ ...b }));
  S.setup.selected = -1;
}

// ---- the events list -------------------------------------------------------------------

// The list starts afresh with each session: while one records it lists that session's events
// at their session time; else each event at its own clock time (its stream time against the
// newest sample's arrival), never at the time the page happened to load.
function listEvents() {
  const rec = S.status.recording;
  const id = rec ? rec.session_id : null;
  if (id !== S.listFor && id !== null) {
    $("events").replaceChildren();
    S.listed = new Set();
  }
  S.listFor = id;
  for (const e of S.events) listEvent(e);
}

function listEvent(e) {
  const rec = S.status.recording;
  if (S.listed.has(e.id) || (rec && e.t < rec.t_start)) return;  // before this session
  S.listed.add(e.id);
  const when = rec ? fmtSessionTime(e.t - rec.t_start) : clockTime(e.t);
  $("events").prepend(el("li", { "data-kind": e.kind, "data-source": e.source || "person" },
    el("span", { class: "t", text: when }),
    el("span", { class: "kind", text: e.kind }), e.text || ""));
}

function clockTime(t) {
  if (!S.clock) return "–";
  return new Date(S.clock.wall - (S.clock.t - t) * 1000).toLocaleTimeString([], { hour12: false });
}

// ---- values while the device is away ---------------------------------------------------

const AWAY_WORDS = { disconnected: "device lost since", stalled: "device silent since",
  stream: "live stream lost since" };

// The numbers, traces and heat map grey out under a badge saying since when the device (or the
// stream) is away; the time is the page's clock when it went, less the silence the server counted.
function showAway() {
  const st = S.status;
  const away = S.replay ? null : !S.streamUp ? "stream"
    : ["disconnected", "stalled"].includes(st.state) ? st.state : null;
  if (away !== S.awayKind) {
    S.awayKind = away;
    S.awaySince = away ? new Date(Date.now() - (away === "stream" ? 0 : st.silent_s || 0) * 1000)
      : null;
  }
  document.querySelector(".view").classList.toggle("stale", !!away);
  const badge = document.getElementById("away-badge");
  badge.hidden = !away;
  if (away) {
    badge.textContent = `${AWAY_WORDS[away]} ${S.awaySince.toLocaleTimeString([], { hour12: false })}`;
  }
}
