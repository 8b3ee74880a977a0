// The live page's keys (the replay's too, through S.replay.onKey) and presentation mode.
// Uses the live page's state S and markEvent (live.js).
"use strict";

function togglePresent() { setPresent(!presenting(), $("present")); }

// P, R, M, N: each person's event by its first letter.
const eventKey = (key) => V.person_event_kinds.find((k) => k[0] === key);

// Keys are the page's wherever the focus is, except while typing in a text field; in the live
// view a <select> keeps its own keys too. In a replay the scrub bar and the speed list do not
// take the replay's keys (an arrow scrubs 5 s, it does not nudge the slider).
function typing(target) {
  const tag = (target.tagName || "").toLowerCase();
  if (tag === "textarea" || target.isContentEditable) return true;
  return tag === "input" && !["range", "button", "checkbox", "radio"].includes(target.type);
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
  const key = e.key.toLowerCase();
  if (S.replay) {
    if (S.replay.onKey(e)) e.preventDefault();
    else if (key === "f") { e.preventDefault(); togglePresent(); }
    return;
  }
  if ((e.target.tagName || "").toLowerCase() === "select") return;
  if (key === "f") { togglePresent(); return; }
  const kind = eventKey(key);
  if (kind) { e.preventDefault(); markEvent(kind); }
}
