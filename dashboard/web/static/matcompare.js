// Two mat sessions on the compare page: each one's heat map at the playback cursor (the same
// time from each one's chosen event), and their difference A − B, sensel by sensel of the
// picture, in the one colour map on a scale from −m to +m (0 in its middle) with its unit.
// The frames come as replay's do, in binary spans (matframes.js), a byte a sensel: the
// difference is good to half a level of each, and the note says how far that is.
"use strict";

const MC = { spans: null, shown: null, retry: 0, last: null };

function matCompareShown(a, b) {
  const mat = (d) => (d.info.frame_shape || []).length === 2;
  const same = mat(a) && mat(b) && a.info.frame_shape.join() === b.info.frame_shape.join();
  document.getElementById("mat-compare").hidden = !same;
  MC.spans = same ? [a, b].map((d) => new MatSpans(d.id, d.info.duration_s, showError)) : null;
  MC.shown = null;
  return same;
}

// A sensel's level as a value in the sensels' unit (NaN where missing).
function senselValue(head, level) { return levelValue(head, level) * head.scale + head.offset; }

// Draw the three pictures for lined-up time `t`, when the frames shown there change; while a
// span is on its way, again on the next animation frame.
function drawMatCompare(a, b, t, speed = 1) {
  const found = [a, b].map((d, k) => MC.spans[k].find(
    Math.max(0, Math.min(d.info.duration_s, d.alignAt + t)), speed));
  if (found.some((f) => !f)) {
    if (!MC.retry && !MC.spans.some((s) => s.failed)) {
      MC.retry = requestAnimationFrame(() => {
        MC.retry = 0;
        drawMatCompare(a, b, C.play.t === null ? 0 : C.play.t, speed);
      });
    }
    return;
  }
  const key = found.map((f) => `${f.span.t0}:${f.i}`).join();
  if (key === MC.shown) return;
  MC.shown = key;
  const [ma, mb] = found.map((f) => MatSpans.mat(f));
  const diff = new Float64Array(ma.values.length);
  let m = 0;
  for (let k = 0; k < diff.length; k++) {
    diff[k] = senselValue(ma, ma.values[k]) - senselValue(mb, mb.values[k]);
    if (Math.abs(diff[k]) > m) m = Math.abs(diff[k]);
  }
  m = Math.max(m, 1e-9);
  const top = Math.max(ma.raw_min + 1, ...[ma, mb].map((x) => levelValue(x, highestOf(x.values, x.missing))));
  drawHeatmap(document.getElementById("mat-a"), ma, { top });
  drawHeatmap(document.getElementById("mat-b"), mb, { top });
  drawHeatmap(document.getElementById("mat-diff"), { ...ma, values: diff, levels: undefined,
    raw_min: -m, raw_max: m, regions: [], cop: null, scale: 1, offset: 0,
    sensel_unit: `${ma.sensel_unit} (A − B)` }, { top: m });
  const within = (levelHalfStep(ma) * Math.abs(ma.scale) + levelHalfStep(mb) * Math.abs(mb.scale));
  MC.last = { t, times: [ma.time_s, mb.time_s], within,
    diff: Array.from(diff, (v) => (Number.isNaN(v) ? null : v)) };
  document.getElementById("mat-compare-note").textContent =
    `${fmtIn(t, "s")} s from each one's ${C.align}: ` +
    `session ${a.id} at ${fmtSessionTime(ma.time_s)}, session ${b.id} at ${fmtSessionTime(mb.time_s)}` +
    ` · the difference to within ±${fmtIn(within, ma.sensel_unit)} ${ma.sensel_unit}`;
}
