// Shared code for every sotlog page: the API, units, formatting, the status bar.
"use strict";

// A failed request: the server's one-line detail as the message, with the HTTP status and the
// answer's body (e.g. a refused tare's {refused: true}); status 0 and `network` when the server
// could not be reached at all.
class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body || {};
    this.network = status === 0;
  }
}

async function api(path, options = {}) {
  return (await apiResponse(path, options)).data;
}

// As api(), with the answer's headers too: { data, headers } (e.g. a list's X-Total-Count).
async function apiResponse(path, options = {}) {
  const init = { headers: {}, credentials: "same-origin", ...options };
  if (init.body !== undefined && typeof init.body !== "string") {
    init.body = JSON.stringify(init.body);
    init.headers["Content-Type"] = "application/json";
  }
  let res;
  try { res = await fetch(path, init); } catch (err) {
    throw new ApiError(`the server could not be reached (${err.message})`, 0, null);
  }
  if (res.status === 204) return { data: null, headers: res.headers };
  let data = null;
  try { data = await res.json(); } catch (err) { data = null; }
  if (!res.ok) {
    const detail = data && data.detail ? data.detail : `${res.status} ${res.statusText}`;
    throw new ApiError(typeof detail === "string" ? detail : JSON.stringify(detail), res.status,
      data);
  }
  return { data, headers: res.headers };
}

// sotlog's words, units and rules (GET /api/vocabulary, from sensing.vocabulary and
// sensing.metrics.onblocks): fetched once per page, before anything is drawn. No page keeps a
// copy of a landmark, a unit factor or a threshold.
let V = null;

async function loadVocabulary() {
  if (!V) {
    V = await api("/api/vocabulary");
    V.newtons = Object.fromEntries(V.units.map((u) => [u.name, u.newtons]));
    V.landmarkLabels = Object.fromEntries(V.landmarks.map((l) => [l.name, l.label]));
  }
  return V;
}

function landmarkLabel(name) { return (V && V.landmarkLabels[name]) || name; }

// Newtons in one `unit` (N, kgf, lbf).
function newtonsPer(unit) { return V.newtons[unit]; }

// Force in newtons shown in the chosen unit; other units (counts, kPa) are shown as they are.
function toUnit(valueN, channelUnit, unit) {
  if (channelUnit !== "N") return valueN;
  return valueN / newtonsPer(unit);
}

function fmt(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const text = x.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text;  // no "-0"
}

// A number for a box that must hold it (a card, an axis): up to 9 999 as fmt() gives it; then
// whole numbers in groups of three split by thin spaces ("123 456"); from a million on in
// k-steps ("1.23 M"). The full value goes in the box's title where it is cut this way.
const THIN = "\u2009";

function fmtBig(x, digits = 1) {
  if (!Number.isFinite(x) || Math.abs(x) < 10000) return fmt(x, digits);
  const a = Math.abs(x);
  if (a < 1e6) return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, THIN);
  const [div, suffix] = a < 1e9 ? [1e6, "M"] : [1e9, "G"];
  return `${fmt(x / div, a / div < 100 ? 2 : 0)}${THIN}${suffix}`;
}

// A number in `unit` with the decimals that unit can mean (V.decimals: sensing/rounding.py, the
// one rounding rule), readable in a box as fmtBig makes it. Every number a page shows with a
// unit goes through here.
function decimalsOf(unit) {
  return V && unit in V.decimals ? V.decimals[unit] : (V ? V.decimals_other : 1);
}

function fmtIn(x, unit) {
  const digits = significantOf(unit);
  return digits === null ? fmtBig(x, decimalsOf(unit)) : fmtSignificant(x, digits);
}

// The significant digits a number in `unit` keeps (V.significant, by how the unit ends: a
// calibration's gain per count), or null where it keeps decimals.
function significantOf(unit) {
  const ends = V && V.significant ? Object.entries(V.significant) : [];
  const found = ends.find(([end]) => (unit || "").endsWith(end));
  return found ? found[1] : null;
}

function fmtSignificant(x, digits) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return String(Number(x.toPrecision(digits)));
}

// An axis's ticks by the one rounding rule: a step of 1, 2, 2.5 or 5 × 10ⁿ near range / ticks,
// never finer than what `unit` can mean (10^-decimals, V.decimals) and a whole number of that;
// {step, digits}: the step, and the decimals its labels take (the step's own, at most the
// unit's). tickValues lists the ticks from lo to hi; tickLabel writes one.
function axisStep(range, ticks, unit) {
  const least = Math.pow(10, -decimalsOf(unit));
  const want = Math.max(range / Math.max(1, ticks), least);
  const p = Math.pow(10, Math.floor(Math.log10(want) + 1e-9));
  // 2.5 × 10ⁿ is a whole number of the unit's least step only from 10 of them on
  const m = [1, 2, 2.5, 5, 10].find((k) => k * p >= want * (1 - 1e-9) && (k !== 2.5 || p > 5 * least));
  const digits = Math.max(0, -Math.floor(Math.log10(p) + 1e-9)) + (m === 2.5 ? 1 : 0);
  return { step: m * p, digits: Math.max(0, Math.min(digits, decimalsOf(unit))) };
}

function tickValues(lo, hi, axis) {
  const out = [];
  for (let k = Math.ceil(lo / axis.step - 1e-9); k * axis.step <= hi + 1e-9 * axis.step; k++) {
    out.push(k * axis.step);
  }
  return out;
}

function tickLabel(v, axis) { return fmtBig(v, axis.digits); }

// The page's root font size in px: presentation mode raises it with the screen, and every text
// in rem follows; the canvases draw their labels at sizes taken from it.
function rootPx() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}

function presenting() { return document.body.classList.contains("present"); }

// Presentation mode on or off (the Present button, or F): large type sized by the screen.
function setPresent(on, button) {
  document.body.classList.toggle("present", on);
  if (button) button.setAttribute("aria-pressed", String(on));
  window.dispatchEvent(new Event("resize"));  // canvases redraw at their new size
}

// Session time as m:ss, with a minus sign before the start (a tare taken before Start).
function fmtSessionTime(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  return (seconds < 0 ? "−" : "") + fmtDuration(Math.abs(seconds));
}

// A duration in words with its units: "24 s", "4 min 05 s", "1 h 02 min" (a list's column,
// "recorded"). fmtDuration is the m:ss of a clock, where the unit is said beside it.
function fmtSpan(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

function fmtDuration(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

function localTime(utcIso) {
  if (!utcIso) return "–";
  const d = new Date(utcIso.endsWith("Z") || utcIso.includes("+") ? utcIso : utcIso + "Z");
  return d.toLocaleString([], { year: "numeric", month: "2-digit", day: "2-digit",
                                hour: "2-digit", minute: "2-digit" });
}

// A ?token= in the address is turned into a cookie by the server; take it out of sight.
(function hideToken() {
  const url = new URL(window.location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.toString());
  }
})();

// One group of counters with its scope said first: "device since connect" or "this session".
// The words come from the vocabulary (V.counters): the data counters always, the others when
// not 0; then, in red, the line the server sends when bytes came and none made a frame.
function renderCounters(node, counters, scope, nothingDecoded) {
  const items = (V ? V.counters : []).flatMap(({ name, label, problem }) => {
    const v = counters && counters[name] !== undefined ? counters[name] : 0;
    if (problem && !v) return [];
    return [el("span", { class: "detail" + (problem ? " nonzero" : ""), "data-counter": name },
      label + " ", el("b", { text: String(v) }))];
  });
  const bad = nothingDecoded ? [el("span", { class: "decoded-nothing", text: nothingDecoded })] : [];
  node.replaceChildren(...(scope ? [el("span", { class: "scope", text: scope })] : []), ...items,
    ...bad);
}

// The force unit a person chose last, on any page; else the server's starting unit.
const UNIT_KEY = "sotlog.units";

function preferredUnit(serverUnit) {
  let saved = null;
  try { saved = localStorage.getItem(UNIT_KEY); } catch (err) { saved = null; }
  return V.newtons[saved] ? saved : (V.newtons[serverUnit] ? serverUnit : V.units[0].name);
}

function rememberUnit(unit) {
  try { localStorage.setItem(UNIT_KEY, unit); } catch (err) { /* private mode: this page only */ }
}

// Wire a page's <select> of units: start on the preferred unit, remember every change.
function bindUnitSelect(select, serverUnit, onChange) {
  select.value = preferredUnit(serverUnit);
  select.addEventListener("change", () => { rememberUnit(select.value); onChange(select.value); });
  return select.value;
}

// The pages' forms are driven by their scripts, never submitted (an inline onsubmit would break
// the Content-Security-Policy, which allows no inline script).
document.addEventListener("submit", (event) => event.preventDefault());
