// A session's edit history, in the words the server describes each edit with ("Category II →
// I", "Tare from 12.34 s (left 8123, right 7990 raw)", "Undo of edit 5: …"), each with Undo
// where the server says it can be undone.
"use strict";

// The history table: one row per edit, an Undo button on each that can be undone.
function renderEdits(tbody, edits, canEdit, undo) {
  if (!edits.length) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "No edits." })));
    return;
  }
  tbody.replaceChildren(...edits.map((e) => {
    const action = !e.undoable
      ? el("span", { class: "muted", text: e.not_undoable_because })
      : el("button", { type: "button", "data-undo": e.id, disabled: !canEdit,
        "aria-label": `undo edit ${e.id}`, text: "Undo", onclick: () => undo(e) });
    return el("tr", { "data-edit": e.id, class: e.undone_by ? "undone" : "" },
      el("td", { class: "num", text: String(e.id) }),
      el("td", { text: e.at_utc.replace("T", " ").slice(0, 19) }),
      el("td", { class: "change", text: e.text }),
      el("td", { class: "muted", text: e.reason || "" }),
      el("td", {}, action));
  }));
}
