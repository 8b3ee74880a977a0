// The large numbers under the controls: force per block, total, left/right share, share of
// body weight, time on the blocks. Shared by the live view and the replay.
"use strict";

const PALETTE = ["#2f8f5b", "#7b4fbf", "#a0522d", "#c71585", "#008b8b", "#556b2f"];

// A mat's whole-mat channel (named by the on-the-blocks rule) is the total itself, not a block
// to add up.
function isTotal(c) { return c.name === V.on_the_blocks.total_channel; }
function blockChannels(channels) { return channels.filter((c) => !isTotal(c)); }
function hasTotalChannel(channels) { return channels.some(isTotal); }

// The total of one sample, to draw: the total channel when there is one, else the sum of the
// channels in the main unit. valueOf(channel) gives that channel's value.
function totalOf(channels, main, valueOf) {
  if (hasTotalChannel(channels)) {
    const v = valueOf(channels.find(isTotal));
    return Number.isFinite(v) ? v : null;
  }
  let total = 0;
  for (const c of channels) {
    const v = valueOf(c);
    if (c.unit === main && Number.isFinite(v)) total += v;
  }
  return total;
}

// Which side of the patient each channel measures: the blocks first, then the profile.
function channelSides(channels, blocks) {
  const sides = {};
  for (const c of channels) sides[c.name] = c.block || null;
  for (const b of blocks || []) if (b.channel && b.channel in sides) sides[b.channel] = b.side;
  return sides;
}

function channelColour(side, i) {
  if (side === "left") return "#1f6fb2";
  if (side === "right") return "#c8561a";
  return PALETTE[i % PALETTE.length];
}

function blockLabel(name, side, blocks) {
  const b = (blocks || []).find((x) => x.channel === name);
  if (b) return `${b.side} · ${landmarkLabel(b.landmark)} (${name})`;
  if (side && side !== name) return `${side} (${name})`;
  return side ? `${side} block` : name;
}

// A card's number as fmtBig writes it; the full number on hover when it is written shorter.
function setValue(node, x, digits) {
  const text = fmtBig(x, digits), whole = fmt(x, digits);
  node.textContent = text;
  node.title = text === whole ? "" : whole;
}

class Readout {
  constructor(node, legend) {
    this.node = node;
    this.legend = legend;
    this.key = "";
    this.cells = {};
  }

  card(id, name, cls = "") {
    const value = el("span", { class: "value", text: "–" });
    const unit = el("span", { class: "unit" });
    const extra = el("div");
    const card = el("div", { class: "big " + cls, "data-readout": id },
      el("div", { class: "name", text: name }), el("div", {}, value, unit), extra);
    this.cells[id] = { value, unit, extra, name: card.firstChild };
    return card;
  }

  build(channels, sides, blocks) {
    const key = JSON.stringify([channels.map((c) => [c.name, c.unit]), sides, blocks]);
    if (key === this.key) return;
    this.key = key;
    this.cells = {};
    const shown = blockChannels(channels);
    const cards = shown.map((c) =>
      this.card("ch:" + c.name, blockLabel(c.name, sides[c.name], blocks),
        sides[c.name] || ""));
    cards.push(this.card("total", "total"), this.card("share", "left : right", "share"),
      this.card("bw", "of body weight"), this.card("loaded", "on the blocks"),
      this.card("elapsed", "recording"));
    this.node.replaceChildren(...cards);
    this.legend.replaceChildren(...shown.map((c, i) => el("span", {},
      el("i", { style: `background:${channelColour(sides[c.name], i)}` }),
      blockLabel(c.name, sides[c.name], blocks))),
      ...(drawsTotal(channels)
        ? [el("span", {}, el("i", { style: "background:#2b2f36" }), "total")] : []));
  }

  // now: {values: {name: N}, unit, bodyWeightKg, loaded, loadedS, elapsedS}. `loaded` is
  // sotlog's own judgement (the live batch's flag, the stored samples' in a replay).
  update(channels, sides, now) {
    const unit = mainUnit(channels);  // channels in other units stay out of the total
    // a card changes many times a second: one decimal fewer than its unit means
    const digits = (u) => Math.max(0, decimalsOf(u) - 1);
    let total = 0, left = 0, right = 0, summed = 0;
    for (const c of blockChannels(channels)) {
      const v = now.values[c.name];
      const cell = this.cells["ch:" + c.name];
      setValue(cell.value, toUnit(v, c.unit, now.unit), digits(c.unit === "N" ? now.unit : c.unit));
      cell.unit.textContent = c.unit === "N" ? now.unit : c.unit;
      if (c.unit === unit && Number.isFinite(v)) {
        summed++;
        total += v;
        if (sides[c.name] === "left") left += v;
        if (sides[c.name] === "right") right += v;
      }
    }
    if (hasTotalChannel(channels)) {  // a mat: load outside the blocks is in its total too
      const v = now.values[V.on_the_blocks.total_channel];
      summed = Number.isFinite(v) ? 1 : 0;
      total = Number.isFinite(v) ? v : 0;
    }
    const forceChannels = unit === "N" ? summed : 0;
    const t = this.cells.total;
    if (summed) setValue(t.value, toUnit(total, unit, now.unit), digits(unit === "N" ? now.unit : unit));
    else t.value.textContent = "–";
    t.unit.textContent = summed ? (unit === "N" ? now.unit : unit) : "";
    const s = this.cells.share;
    const lr = left + right;
    if (now.loaded && lr > 0) {
      const lp = (100 * left) / lr;
      s.value.textContent = `${fmt(lp, 0)}:${fmt(100 - lp, 0)}`;
      s.unit.textContent = "%";
      s.extra.replaceChildren(el("div", { class: "sharebar", title: "left : right" },
        el("div", { class: "l", style: `width:${lp}%` }),
        el("div", { class: "r", style: `width:${100 - lp}%` })));
    } else {
      s.value.textContent = "–";
      s.unit.textContent = "";
      s.extra.replaceChildren(el("span", { class: "muted", text: "no load on the blocks" }));
    }
    const bw = this.cells.bw;
    if (now.bodyWeightKg && forceChannels) {
      // a body weight of m kg weighs m kgf
      bw.value.textContent = fmt((100 * total) / (now.bodyWeightKg * newtonsPer("kgf")), 0);
      bw.unit.textContent = "%";
      bw.extra.textContent = `of ${fmtIn(now.bodyWeightKg, "kg")} kg`;
    } else {
      bw.value.textContent = "–";
      bw.unit.textContent = "";
      bw.extra.textContent = "enter a body weight";
    }
    this.cells.loaded.value.textContent = fmtDuration(now.loadedS);
    this.cells.loaded.unit.textContent = "min:s";
    this.cells.elapsed.value.textContent = fmtDuration(now.elapsedS);
    this.cells.elapsed.unit.textContent = "min:s";
    this.cells.elapsed.name.textContent = now.elapsedLabel || "recording";
  }
}

// Whether the traces carry a total line: a "total" channel, or more than one channel to add.
function drawsTotal(channels) {
  return hasTotalChannel(channels) || (channels.length > 1 && !!mainUnit(channels));
}

// The unit the total adds up: newtons if any channel is a force, else the one shared unit.
function mainUnit(channels) {
  if (channels.some((c) => c.unit === "N")) return "N";
  const units = new Set(channels.map((c) => c.unit));
  return units.size === 1 ? [...units][0] : null;
}

// Mean of each channel over the last `span` seconds before index `end` (steadier than one sample).
function recentMeans(t, series, end, span = 0.2) {
  const out = {};
  if (end <= 0) return out;
  const start = lowerBound(t, t[end - 1] - span);
  for (const [name, values] of Object.entries(series)) {
    let sum = 0, n = 0;
    for (let i = start; i < end; i++) if (Number.isFinite(values[i])) { sum += values[i]; n++; }
    out[name] = n ? sum / n : NaN;
  }
  return out;
}
