// What the live page does when the server goes away and comes back. It watches the recording it
// shows, so that
// - a mark made while the server cannot be reached is queued in the page (and in this tab's
//   storage) with its session and session time, shown as queued, and sent when the server is
//   back; then the page says where it was stored, or that it could not be, and why;
// - a session that ended meanwhile (the server was stopped: interrupted), or that the server
//   found interrupted when it started, is said in a notice until the person dismisses it.
"use strict";

const OUTBOX_KEY = "sotlog.outbox";        // marks not sent yet (sessionStorage: this tab only)
const WATCHED_KEY = "sotlog.watched";      // the recording this tab showed (sessionStorage)
const DISMISSED_KEY = "sotlog.dismissed";  // sessions whose notice was dismissed (localStorage)

function readStored(storage, key, fallback) {
  try {
    const v = JSON.parse(storage.getItem(key));
    return v === null ? fallback : v;
  } catch (err) { return fallback; }
}

function writeStored(storage, key, value) {
  try { storage.setItem(key, JSON.stringify(value)); } catch (err) { /* private mode: this page only */ }
}

const MARK_STATES = {
  queued: "queued in this page, not stored yet: it is sent when the server is back",
  sending: "sending…",
};

class Away {
  // box: where queued marks are listed (its <ol>); notice: the notice bar; onGone(id): the
  // session the page showed is no longer recording, and this page did not stop it.
  constructor(box, notice, onGone) {
    this.box = box;
    this.list = box.querySelector("ol");
    this.notice = notice;
    this.onGone = onGone;
    this.watching = null;  // {session_id, uuid, startPageS}: the recording the page shows
    this.outbox = readStored(sessionStorage, OUTBOX_KEY, []);
    this.sending = false;
    this.stoppedHere = null;  // a session this page stopped: no notice for it
    notice.querySelector("#notice-dismiss").addEventListener("click", () => this.dismiss());
  }

  // The page's first status: a session the server found interrupted when it started, the
  // recording this tab showed before a reload, and marks not sent yet.
  start(status) {
    if (status.ended && status.ended.found_at_start) this.say(status.ended);
    const before = readStored(sessionStorage, WATCHED_KEY, null);
    const rec = status.recording;
    if (before && !(rec && rec.session_id === before.session_id)) {
      writeStored(sessionStorage, WATCHED_KEY, null);
      this.check(before.session_id);
    }
    for (const m of this.outbox) this.render(m);
  }

  // Every batch: which recording the page shows and when it started on the page's own clock.
  seen(status, newestT) {
    const rec = status.recording, w = this.watching;
    if (w && !(rec && rec.session_id === w.session_id)) {
      this.watching = null;
      writeStored(sessionStorage, WATCHED_KEY, null);
      if (this.stoppedHere !== w.session_id) {
        this.onGone(w.session_id);
        this.check(w.session_id);
      }
    }
    if (rec) {
      if (!this.watching) {
        this.watching = { session_id: rec.session_id, uuid: rec.uuid, startPageS: NaN };
        writeStored(sessionStorage, WATCHED_KEY, { session_id: rec.session_id, uuid: rec.uuid });
      }
      if (newestT !== null) {
        // The newest sample is at most one batch old when it arrives, so the smallest estimate
        // of the start on the page's clock is the nearest.
        const est = performance.now() / 1000 - (newestT - rec.t_start);
        const s = this.watching.startPageS;
        this.watching.startPageS = Number.isFinite(s) ? Math.min(s, est) : est;
      }
    }
    if (!this.sending && this.outbox.some((m) => m.state === "queued")) this.send();
  }

  // Seconds since the start of the recording the page shows, on the page's clock.
  sessionTime() {
    const w = this.watching;
    return w ? performance.now() / 1000 - w.startPageS : NaN;
  }

  // The Stop button: the session this page ends needs no notice.
  async stopping(stop) {
    this.stoppedHere = this.watching ? this.watching.session_id : null;
    try { return await stop(); } catch (err) { this.stoppedHere = null; throw err; }
  }

  // A mark the server could not be given now: queued, shown, and sent when the server is back.
  keep(kind, text, timeS) {
    const w = this.watching;
    const m = { key: `${Date.now()}-${Math.random().toString(36).slice(2)}`, kind, text,
      session_id: w.session_id, time_s: Number.isFinite(timeS) ? Number(timeS.toFixed(3)) : null,
      state: "queued" };
    this.outbox.push(m);
    this.save();
    this.render(m);
  }

  async send() {
    this.sending = true;
    try {
      for (const m of this.outbox.filter((x) => x.state === "queued")) {
        m.state = "sending";
        this.render(m);
        try {
          const e = await api("/api/events", { method: "POST", body: { kind: m.kind,
            text: m.text, session_id: m.session_id, time_s: m.time_s } });
          m.state = "stored";
          m.late = !!(e.data && e.data.sent_after_the_recording);
        } catch (err) {
          if (err.network) { m.state = "queued"; this.render(m); break; }
          m.state = "refused";
          m.detail = err.message;
        }
        this.render(m);
      }
    } finally {
      this.outbox = this.outbox.filter((x) => x.state === "queued" || x.state === "sending");
      for (const m of this.outbox) m.state = "queued";
      this.save();
      this.sending = false;
    }
  }

  save() { writeStored(sessionStorage, OUTBOX_KEY, this.outbox); }

  render(m) {
    let li = this.list.querySelector(`li[data-queued="${m.key}"]`);
    if (!li) {
      li = el("li", { "data-kind": m.kind, "data-queued": m.key });
      this.list.prepend(li);
      this.box.hidden = false;
    }
    const where = `session ${m.session_id} at ${fmtSessionTime(m.time_s)}`;
    const state = m.state === "stored"
      ? `stored in ${where}` + (m.late ? ", added after its recording had ended" : "")
      : m.state === "refused" ? `not stored in ${where}: ${m.detail}` : MARK_STATES[m.state];
    li.className = `mark ${m.state}`;
    li.dataset.state = m.state;
    li.replaceChildren(el("span", { class: "t", text: fmtSessionTime(m.time_s) }),
      el("span", { class: "kind", text: m.kind }), m.text ? `${m.text} ` : "",
      el("span", { class: "mark-state", text: `(${state})` }));
  }

  // How a session the page was showing ended, from the store.
  async check(sessionId) {
    let info;
    try { info = await api(`/api/sessions/${sessionId}`); } catch (err) { return; }
    if (info.status === "recording") return;
    this.say({ session_id: info.id, uuid: info.uuid, status: info.status,
      reason: info.end_reason, duration_s: info.duration_s, frames: info.n_frames,
      events: (info.counters || {}).stored_events });
  }

  say(ended) {
    const key = ended.uuid || String(ended.session_id);
    if (readStored(localStorage, DISMISSED_KEY, []).includes(key)) return;
    const at = fmtDuration(ended.duration_s);
    const how = ended.status === "interrupted" ? `was interrupted at ${at}`
      : `ended (${ended.status}) at ${at}`;
    const count = (n, what) => (Number.isFinite(n) ? `${n} ${what}${n === 1 ? "" : "s"}`
      : `– ${what}s`);
    this.notice.querySelector("#notice-text").textContent =
      `Session ${ended.session_id} ${how}: ${ended.reason || "no reason was stored"}. ` +
      `Kept: ${count(ended.frames, "frame")}, ${count(ended.events, "event")}.`;
    this.notice.querySelector("#notice-link").href = `/sessions/${ended.session_id}`;
    this.notice.dataset.session = key;
    this.notice.hidden = false;
  }

  dismiss() {
    const dismissed = readStored(localStorage, DISMISSED_KEY, []);
    dismissed.push(this.notice.dataset.session);
    writeStored(localStorage, DISMISSED_KEY, dismissed.slice(-200));
    this.notice.hidden = true;
  }
}
