// A session's summary as the session and compare pages show it: big numbers and a table.
"use strict";

function bigNumber(name, value, unit) {
  return el("div", { class: "big" }, el("div", { class: "name", text: name }),
    el("div", {}, el("span", { class: "value", text: value }),
      el("span", { class: "unit", text: unit })));
}

function renderTotals(node, s) {
  node.replaceChildren(bigNumber("on the blocks", fmtDuration(s.time_on_blocks_s), "min:s"),
    bigNumber("recorded", fmtDuration(s.duration_s), "min:s"),
    bigNumber("frames", String(s.frames), ""),
    bigNumber("measured rate", fmtIn(s.measured_rate_hz, "frames/s"), "frames/s"));
}

const SUMMARY_COLUMNS = [["channel"], ["count", "num"], ["mean", "num"], ["SD", "num"],
  ["min", "num"], ["peak", "num"], ["mean on blocks", "num"], ["share", "num"],
  ["of body weight", "num"]];

function renderSummaryTable(table, s) {
  table.querySelector("thead").replaceChildren(el("tr", {}, ...SUMMARY_COLUMNS.map(([c, cls]) =>
    el("th", { class: cls || "", text: c }))));
  table.querySelector("tbody").replaceChildren(...s.channels.map((c) => {
    const side = s.sides[c.name];
    const label = side && side !== c.name ? `${c.name} (${side})` : c.name;
    const v = (x) => (x === null ? "–" : `${fmtIn(x, c.unit)} ${c.unit}`);
    const pct = (x) => (x === null ? "–" : `${fmtIn(x, "%")} %`);
    return el("tr", { "data-channel": c.name }, el("td", { text: label }),
      el("td", { class: "num", text: String(c.count) }), el("td", { class: "num", text: v(c.mean) }),
      el("td", { class: "num", text: v(c.sd) }), el("td", { class: "num", text: v(c.min) }),
      el("td", { class: "num", text: v(c.max) }),
      el("td", { class: "num", text: v(c.loaded_mean) }),
      el("td", { class: "num", text: pct(c.share_pct) }),
      el("td", { class: "num", text: pct(c.body_weight_pct) }));
  }));
}
