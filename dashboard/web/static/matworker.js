// The worker that fetches a mat session's frame spans and decodes them (matframes.js's
// decodeFrames), so the page's drawing thread only receives them: {ask, url} in, {ask, buffer,
// decoded} out (the body handed over, not copied), or {ask, error}: the server's one line.
"use strict";

importScripts("matframes.js");

onmessage = async ({ data: { ask, url } }) => {
  try {
    const r = await fetch(url, { credentials: "same-origin" });
    if (!r.ok) throw new Error((await r.json().catch(() => ({}))).detail || r.statusText);
    const buffer = await r.arrayBuffer();
    postMessage({ ask, buffer, decoded: decodeFrames(buffer) }, [buffer]);
  } catch (err) {
    postMessage({ ask, error: String(err.message || err) });
  }
};
