// A mat session's frames for the heat maps that play them (replay, and compare's mats): spans of
// frames as one binary body each (GET .../mat/frames: a byte per sensel, docs/dashboard.md),
// asked for ahead of a time that moves, more at a higher speed. The one decoder of those bodies,
// and of the framing every binary body of the pages has (a live mat frame too: heatmap.js).
"use strict";

// The pages' binary bodies, as dashboard.web.livewire.framed writes them: 4 bytes of `magic`,
// the head's length (uint32 little-endian), the head (JSON, padded so the body starts at a
// multiple of 8 bytes), then the body. {head, start}: the head, and where the body starts; a body
// of another kind is an error naming `what` was expected.
function readFramed(buffer, magic, what) {
  const found = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (found !== magic) throw new Error(`${what}: a binary message that is not one (${found})`);
  const headLength = new DataView(buffer).getUint32(4, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headLength)));
  return { head, start: 8 + headLength };
}

// One binary body of frames ("SMTS"): n frames of rows x cols bytes, each a level
// 0..head.levels of [raw_min, span_top] (head.missing where a sensel is missing).
function decodeFrames(buffer) {
  return readFramed(buffer, "SMTS", "mat frames");
}

// A decoded body as a span of session time [t0, t1): frame(i) is frame i's levels.
function frameSpan(t0, t1, buffer, { head, start }) {
  const size = head.rows * head.cols, bytes = new Uint8Array(buffer, start);
  return { t0, t1, head, frame: (i) => bytes.subarray(i * size, (i + 1) * size) };
}

// In a page, the spans are fetched and decoded by a worker (matworker.js, this same decoder),
// off the thread that draws; in the worker this file only lends it decodeFrames.
let MAT_WORKER = null, MAT_ASKED = 0;
const MAT_WAITING = new Map();  // ask number -> [resolve, reject]

function fetchFrames(url) {
  if (!MAT_WORKER) {
    MAT_WORKER = new Worker("/static/matworker.js");
    MAT_WORKER.onmessage = ({ data }) => {
      const [resolve, reject] = MAT_WAITING.get(data.ask);
      MAT_WAITING.delete(data.ask);
      if (data.error) reject(new Error(data.error)); else resolve(data);
    };
    MAT_WORKER.onerror = (e) => {  // the worker could not start: every span asked is refused
      e.preventDefault();
      for (const [, reject] of MAT_WAITING.values()) {
        reject(new Error(`mat frames: the page's frame reader did not start (${e.message || "no reason given"})`));
      }
      MAT_WAITING.clear();
    };
  }
  const ask = ++MAT_ASKED;
  return new Promise((resolve, reject) => {
    MAT_WAITING.set(ask, [resolve, reject]);
    MAT_WORKER.postMessage({ ask, url });
  });
}

// A level of a span's frame as the raw value it stands for (NaN where missing), and half the
// step between two levels: how far the raw value may be from it.
function levelValue(head, level) {
  return level === head.missing ? NaN
    : head.raw_min + (level / head.levels) * (head.span_top - head.raw_min);
}

function levelHalfStep(head) { return (head.span_top - head.raw_min) / head.levels / 2; }

// The frames of session `id` (`duration`: its length, s) around a time that moves: find(t, speed)
// gives the last frame at or before t as a mat for drawHeatmap (null while its span is on its
// way: counted in `waiting`), and asks for the spans ahead of t. `received` counts the bytes.
class MatSpans {
  constructor(id, duration, onError) {
    Object.assign(this, { id, duration, onError, spans: [], asking: false, waiting: 0,
      received: 0, failed: null });
  }

  ask(t0, t1) {
    this.asking = true;
    fetchFrames(`/api/sessions/${this.id}/mat/frames?t0=${t0.toFixed(3)}&t1=${t1.toFixed(3)}`)
      .then(({ buffer, decoded }) => {
        this.received += buffer.byteLength;
        this.spans.push(frameSpan(t0, t1, buffer, decoded));
      }).catch((err) => { this.failed = err; this.onError(err); })
      .finally(() => { this.asking = false; });
  }

  // The span holding t and its frame index {span, i}, or null; the spans ahead are asked for
  // (small ones come back quickly; enough of them that one late answer is no wait). Spans
  // more than `keepS` behind t are let go.
  find(t, speed = 1, keepS = 1) {
    const chunk = Math.max(4, 2 * speed), ahead = Math.max(3, 3 * speed);
    this.spans = this.spans.filter((s) => s.t1 > t - keepS - 1 && s.t0 < t + ahead + 2 * chunk);
    const span = this.spans.find((s) => t >= s.t0 && t < s.t1);
    if (!this.asking && !this.failed) {  // a refused span is said once, not asked again
      if (!span) this.ask(Math.max(0, t - 1), Math.max(0, t - 1) + chunk);
      else {
        let end = span.t1, next;
        while ((next = this.spans.find((s) => s.t0 === end))) end = next.t1;
        if (end < t + ahead && end < this.duration) this.ask(end, end + chunk);
      }
    }
    if (!span) { this.waiting++; return null; }
    // the last frame at or before t; before a session's first frame, its first
    let i = lowerBound(span.head.time_s, t + 1e-9) - 1;
    if (i < 0 && span.t0 <= 0 && span.head.n) i = 0;
    return i < 0 ? null : { span, i };
  }

  // Frame i of a span as drawHeatmap takes it: the span's facts, the frame's levels, its time
  // and centre of pressure.
  static mat({ span, i }) {
    const cop = span.head.cop[i];
    return { ...span.head, values: span.frame(i), time_s: span.head.time_s[i],
      cop: cop && { row: cop[0], col: cop[1] } };
  }
}
