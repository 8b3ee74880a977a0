// The sessions list: search by subject code, filter by day, category and position; newest first,
// a page at a time (V.sessions_page), "Load more" adding the next page below.
"use strict";

const $ = (id) => document.getElementById(id);
// (a shared store's page has a station filter too)
const FILTERS = ["q", "date_from", "date_to", "category", "position", "status", "station"]
  .filter((name) => $(name));

function blockText(blocks) {
  if (!blocks || !blocks.length) return "–";
  return blocks.map((b) => `${b.side} ${landmarkLabel(b.landmark)}` +
    (Number.isFinite(b.angle_deg) ? ` ${b.angle_deg}°` : "")).join(", ");
}

let pending = 0;
const picked = [];  // session ids ticked for comparing, in the order ticked

// Tick or untick a session for comparing: from the fewest to the most the compare page shows
// together (V.compare_sessions); a tick beyond the most is refused with a line saying so.
function pick(id, on) {
  const [fewest, most] = V.compare_sessions;
  const at = picked.indexOf(id);
  let refused = false;
  if (on && at < 0) {
    if (picked.length < most) picked.push(id);
    else {
      refused = true;
      const box = document.querySelector(`input[data-compare="${id}"]`);
      if (box) box.checked = false;
    }
  }
  if (!on && at >= 0) picked.splice(at, 1);
  const n = picked.length;
  $("compare").disabled = n < fewest;
  const list = (or) => `${picked.slice(0, -1).join(", ")} ${or} ${picked[n - 1]}`;
  $("compare-hint").classList.toggle("error", refused);
  $("compare-hint").textContent = refused
    ? `Compare shows at most ${most} sessions together: untick one of sessions ${list("or")} first.`
    : n >= fewest ? `Compare sessions ${list("and")}.`
    : `Tick ${fewest} to ${most} sessions to compare them side by side` +
      (n ? ` (session ${picked[0]} ticked).` : ".");
}

function compareAddress() {
  return picked.length === 2 ? `/compare?a=${picked[0]}&b=${picked[1]}`
    : `/compare?ids=${picked.join(",")}`;
}

// A visit's blocks as the list shows them: "left 205.6 N (59 %)" each (the server keeps them in N).
function visitBlocks(visit) {
  if (!visit || !visit.blocks.length) return "–";
  return visit.blocks.map((b) => `${b.name} ${fmtIn(b.mean, b.unit)} ${b.unit}` +
    (b.share_pct === null ? "" : ` (${fmt(b.share_pct, 0)} %)`)).join(" · ");
}

function sessionRow(s) {
  const open = () => { location.href = `/sessions/${s.id}`; };
  return el("tr", { class: "clickable", "data-session": s.id, onclick: open },
    el("td", { class: "num", text: String(s.id) }),
    ...("station" in s ? [el("td", { text: s.station })] : []),
    el("td", { text: localTime(s.started_utc) }),
    el("td", {}, el("a", { href: `/sessions/${s.id}`, text: s.subject_code || "(no code)" })),
    el("td", { text: s.position || "–" }),
    el("td", { text: s.category || "–" }),
    el("td", { text: blockText(s.blocks) }),
    el("td", { class: "num", text: fmtSpan(s.duration_s) }),
    el("td", { class: "num", text: String(s.n_frames) }),
    el("td", { class: "num", "data-on-blocks": s.id,
      text: s.visit && s.visit.time_on_blocks_s !== null ? fmtDuration(s.visit.time_on_blocks_s) : "–" }),
    el("td", { "data-visit": s.id, text: visitBlocks(s.visit) }),
    el("td", { text: s.status }),
    el("td", {}, el("a", { href: `/replay/${s.id}`, text: "replay",
      onclick: (e) => e.stopPropagation() })),
    el("td", { onclick: (e) => e.stopPropagation() }, el("input", { type: "checkbox",
      "data-compare": s.id, "aria-label": `compare session ${s.id}`,
      checked: picked.includes(s.id), onchange: (e) => pick(s.id, e.target.checked) })));
}

let fetched = 0;  // rows the pages so far held: the next page's offset
let total = 0;  // sessions matching the filters
const listed = new Set();  // ids in the table: a session started meanwhile shifts the pages
                           // by one, and the row that moves onto the next page is not repeated

// The first page for the filters (more: the next page, added below the rows shown).
async function load(more = false) {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const v = $(name).value.trim();
    if (v) params.set(name, v);
  }
  if (!more) history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
  params.set("limit", String(V.sessions_page));
  params.set("offset", String(more ? fetched : 0));
  const mine = ++pending;
  $("more").disabled = true;
  let answer;
  try {
    answer = await apiResponse(`/api/sessions?${params}`);
    $("error").textContent = "";
  } catch (err) {
    $("error").textContent = err.message;
    $("more").disabled = false;
    return;
  }
  if (mine !== pending) return;  // a newer search has started
  total = Number(answer.headers.get("X-Total-Count"));
  const tbody = document.querySelector("#sessions tbody");
  if (!more) {
    listed.clear();
    fetched = 0;
    tbody.replaceChildren();
  }
  fetched += answer.data.length;
  const rows = answer.data.filter((s) => !listed.has(s.id));
  for (const s of rows) listed.add(s.id);
  tbody.append(...rows.map(sessionRow));
  $("count").textContent = listed.size >= total
    ? `${total} session${total === 1 ? "" : "s"}, newest first`
    : `${listed.size} of ${total} sessions, newest first`;
  $("more").hidden = fetched >= total;
  $("more").disabled = false;
  $("more").textContent = `Load ${Math.min(V.sessions_page, total - fetched)} more`;
  if (!total) {
    const columns = document.querySelector("#sessions thead tr").cells.length;
    tbody.append(el("tr", {}, el("td", { colspan: columns, class: "muted",
      text: "No sessions match these filters." })));
  }
}

async function main() {
  try { await loadVocabulary(); } catch (err) { $("error").textContent = err.message; return; }
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) if (params.has(name)) $(name).value = params.get(name);
  if (Number(params.get("compare")) > 0) pick(Number(params.get("compare")), true);
  let timer = null;
  for (const name of FILTERS) {
    $(name).addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => load(), 200);
    });
  }
  $("compare").addEventListener("click", () => {
    if (picked.length >= V.compare_sessions[0]) location.href = compareAddress();
  });
  $("more").addEventListener("click", () => load(true));
  $("clear").addEventListener("click", () => {
    for (const name of FILTERS) $(name).value = "";
    load();
  });
  load();
}

main();
