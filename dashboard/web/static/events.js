// A session's events, each detected one (source sotlog, a kind in V.detected_event_kinds) with
// Confirm, Move to … s and Delete. What each does is the server's (docs/metrics.md); every one
// is an edit the edit history shows and Undo takes back.
"use strict";

function isDetected(e) {
  return e.source === "sotlog" && V.detected_event_kinds.includes(e.kind);
}

// What a person has done with a detected event, in words: "confirmed", "moved", "detected".
function detectedState(e) {
  const done = [["confirmed", "confirmed_utc"], ["moved", "moved_utc"]]
    .filter(([, key]) => key in (e.data || {})).map(([word]) => word);
  return done.join(", ") || "detected";
}

// The events table: time, kind, text, by whom; a detected event's row gets its actions.
// act(action, event, timeS) runs one and redraws.
function renderEventRows(tbody, events, canEdit, act) {
  if (!events.length) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "No events." })));
    return;
  }
  tbody.replaceChildren(...events.map((e) => {
    const actions = el("td", { class: "event-actions" });
    if (isDetected(e)) {
      const to = el("input", { type: "number", step: "0.01", min: "0", value: e.time_s.toFixed(2),
        "aria-label": `new time of event ${e.id} (s)`, "data-move-to": e.id, disabled: !canEdit });
      actions.append(
        el("span", { class: "muted", "data-state": e.id, text: detectedState(e) }), " ",
        el("button", { type: "button", "data-confirm": e.id, text: "Confirm",
          disabled: !canEdit || "confirmed_utc" in e.data, onclick: () => act("confirm", e) }),
        " ", to, " ",
        el("button", { type: "button", "data-move": e.id, text: "Move", disabled: !canEdit,
          onclick: () => act("move", e, Number(to.value)) }), " ",
        el("button", { type: "button", "data-delete": e.id, text: "Delete", disabled: !canEdit,
          onclick: () => act("delete", e) }));
    }
    return el("tr", { "data-kind": e.kind, "data-event": e.id, "data-source": e.source },
      el("td", { class: "num", text: fmtSessionTime(e.time_s) }),
      el("td", { class: "kind", text: e.kind }), el("td", { text: e.text }),
      el("td", { class: "muted", text: e.source }), actions);
  }));
}
