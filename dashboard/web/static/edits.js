// A session's edit history in words a practitioner reads: "Category II → I", "Tare from
// 12.34 s (left 8123.0, right 7990.5 raw)", "Calibration changed", "Undo of edit 5: …".
"use strict";

// The label a metadata field has on the session page's form ("Short-leg side"), else its name.
function fieldLabel(field) {
  const input = document.querySelector(`#meta [name="${field}"]`);
  const label = input && input.closest("label");
  const text = label ? label.firstChild.textContent.trim() : field.replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function blockText(b) {
  return `${b.side} ${landmarkLabel(b.landmark)}` +
    (Number.isFinite(b.angle_deg) ? ` ${b.angle_deg}°` : "") + (b.channel ? ` (${b.channel})` : "");
}

function fieldValue(field, v) {
  if (v === null || v === undefined || v === "") return "—";
  if (Array.isArray(v)) return v.length ? v.map(blockText).join(", ") : "none";
  if (field === "body_weight_kg") return `${v} kg`;
  return String(v);
}

// A conversion's zeros as a list of segments, whichever way it was written (a plain
// {channel: offset} tare from the start, or a list of segments with their from_s).
function zeroSegments(conversion) {
  const tare = (conversion || {}).tare;
  if (!tare) return [];
  if (!Array.isArray(tare)) return [{ from_s: null, offsets: tare }];
  return tare;
}

function segmentText(seg) {
  const from = seg.from_s === null || seg.from_s === undefined ? "the start"
    : `${fmt(seg.from_s, 2)} s`;
  const offsets = Object.entries(seg.offsets || {}).map(([n, raw]) => `${n} ${fmt(raw, 1)}`);
  return `Tare from ${from} (${offsets.join(", ")} raw)` +
    (seg.forced ? ", taken anyway" : "");
}

function calibrationIds(conversion) {
  const channels = ((conversion || {}).calibration || {}).channels || {};
  const ids = Object.entries(channels).map(([n, c]) => `${n}: ${c.id}`);
  return ids.length ? `calibration ${ids.join(", ")}` : "the profile's scale";
}

// What changed between two conversion dicts, as short sentences.
function conversionChange(old, now) {
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const before = zeroSegments(old), after = zeroSegments(now);
  const parts = [
    ...after.filter((s) => !before.some((b) => same(b, s))).map(segmentText),
    ...before.filter((s) => !after.some((a) => same(a, s))).map((s) => `${segmentText(s)} taken out`),
  ];
  const o = old || {}, n = now || {};
  if (!same(o.calibration, n.calibration)) {
    parts.push(`Calibration changed (${calibrationIds(o)} → ${calibrationIds(n)})`);
  }
  if (!same(o.mat_regions, n.mat_regions)) {
    parts.push(n.mat_regions ? "Block regions set by hand" : "Block regions found on the data again");
  }
  const rest = new Set([...Object.keys(o), ...Object.keys(n)]);
  for (const k of ["tare", "tare_info", "calibration", "mat_regions"]) rest.delete(k);
  if ([...rest].some((k) => !same(o[k], n[k]))) parts.push("Conversion changed");
  return parts.join("; ") || "Conversion rewritten, no change";
}

function editText(e) {
  if (e.text) return e.text;  // the server's own words, when it sends them
  const what = e.field === "conversion" ? conversionChange(e.old, e.new)
    : `${fieldLabel(e.field)} ${fieldValue(e.field, e.old)} → ${fieldValue(e.field, e.new)}`;
  return e.undoes ? `Undo of edit ${e.undoes}: ${what}` : what;
}

// The history table: one row per edit, an Undo button on each that has not been undone.
function renderEdits(tbody, edits, canEdit, undo) {
  if (!edits.length) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "No edits." })));
    return;
  }
  tbody.replaceChildren(...edits.map((e) => {
    const action = e.undone_by
      ? el("span", { class: "muted", text: `undone by edit ${e.undone_by}` })
      : el("button", { type: "button", "data-undo": e.id, disabled: !canEdit,
        "aria-label": `undo edit ${e.id}`, text: "Undo", onclick: () => undo(e) });
    return el("tr", { "data-edit": e.id, class: e.undone_by ? "undone" : "" },
      el("td", { class: "num", text: String(e.id) }),
      el("td", { text: e.at_utc.replace("T", " ").slice(0, 19) }),
      el("td", { class: "change", text: editText(e) }),
      el("td", { class: "muted", text: e.reason || "" }),
      el("td", {}, action));
  }));
}
