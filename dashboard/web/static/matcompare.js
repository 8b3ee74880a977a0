// Two mat sessions on the compare page: each one's heat map at the playback cursor (the same
// time from each one's chosen event), and their difference A − B, sensel by sensel of the
// picture, in the one colour map on a scale from −m to +m (0 in its middle) with its unit.
"use strict";

const MC = { asked: null, busy: false, last: null };

function matCompareShown(a, b) {
  const mat = (d) => (d.info.frame_shape || []).length === 2;
  const same = mat(a) && mat(b) && a.info.frame_shape.join() === b.info.frame_shape.join();
  document.getElementById("mat-compare").hidden = !same;
  return same;
}

// Draw the three pictures for lined-up time `t` (asked again only when it moves; one at a time).
function drawMatCompare(a, b, t) {
  if (MC.busy || t === MC.asked) return;
  MC.busy = true;
  MC.asked = t;
  const at = (d) => api(`/api/sessions/${d.id}/mat?t=${Math.max(0, d.alignAt + t).toFixed(3)}`);
  Promise.all([at(a), at(b)]).then(([ma, mb]) => {
    const diff = ma.values.map((v, k) => (v === null || mb.values[k] === null ? null : v - mb.values[k]));
    const m = Math.max(1, ...diff.map((v) => Math.abs(v || 0)));
    const top = Math.max(ma.raw_min + 1, ...ma.values, ...mb.values);
    drawHeatmap(document.getElementById("mat-a"), ma, { top });
    drawHeatmap(document.getElementById("mat-b"), mb, { top });
    MC.last = { t, a: ma, b: mb, diff };
    drawHeatmap(document.getElementById("mat-diff"), { ...ma, values: diff, raw_min: -m,
      raw_max: m, regions: [], cop: null, scale: 1, offset: 0,
      sensel_unit: `${ma.sensel_unit} (A − B)` }, { top: m });
    document.getElementById("mat-compare-note").textContent =
      `${secondsLabel(Math.round(t * 10) / 10)} from each one's ${C.align}: ` +
      `session ${a.id} at ${fmtSessionTime(ma.time_s)}, session ${b.id} at ${fmtSessionTime(mb.time_s)}`;
  }).catch(showError).finally(() => { MC.busy = false; });
}
