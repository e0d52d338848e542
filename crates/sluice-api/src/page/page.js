// The search page's script, served from /page.js so the page's CSP needs
// no 'unsafe-inline'. The API key lives in sessionStorage: it ends with the
// tab, and is never written to disk for other sites' scripts to find later.
function safeLink(u) {
  try { return ["http:", "https:", "mailto:"].includes(new URL(u, location.href).protocol); } catch (e) { return false; }
}

"use strict";
const $ = (id) => document.getElementById(id);
const list = (v) => v.split(",").map((s) => s.trim()).filter(Boolean);

function headers() {
  const h = { "content-type": "application/json" };
  const key = $("key").value.trim();
  if (key) h.authorization = "Bearer " + key;
  return h;
}

function text(tag, cls, value) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  el.textContent = value;
  return el;
}

function renderHits(result, stage) {
  const ol = $("hits");
  ol.replaceChildren();
  for (const h of result.hits) {
    const li = document.createElement("li");
    li.className = "hit";
    li.dataset.id = h.id;
    // Links only to http(s) and mailto: a javascript: or data: URL from an
    // indexed source must never become clickable script.
    const link = h.url && safeLink(h.url);
    const title = link ? document.createElement("a") : document.createElement("span");
    title.className = "hit-title";
    title.textContent = h.title || h.external_id;
    if (link) { title.href = h.url; title.rel = "noopener noreferrer"; }
    li.append(title);
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.append(text("span", "badge", h.source), text("span", "badge", h.kind));
    for (const l of h.labels) meta.append(text("span", "badge", "#" + l));
    if (h.updated_at) meta.append(text("span", "", " updated " + h.updated_at.slice(0, 10)));
    li.append(meta);
    // The server escapes the snippet and adds only <mark> around matches.
    const snip = document.createElement("div");
    snip.className = "snippet";
    snip.innerHTML = h.snippet;
    li.append(snip);
    // Linked documents (each one the caller may read), as text: a title
    // from an indexed source is never markup.
    if (h.related && h.related.length) {
      const rel = document.createElement("ul");
      rel.className = "related";
      for (const r of h.related) {
        const item = document.createElement("li");
        item.append(text("span", "edge", (r.direction === "out" ? "→ " : "← ") + r.edge.replace("_", " ")));
        const ok = r.url && safeLink(r.url);
        const t = ok ? document.createElement("a") : document.createElement("span");
        t.textContent = r.title || r.external_id;
        if (ok) { t.href = r.url; t.rel = "noopener noreferrer"; }
        item.append(t, text("span", "badge", r.source), text("span", "badge", r.kind));
        rel.append(item);
      }
      li.append(rel);
    }
    ol.append(li);
  }
  // Which stages were shown, in order, with their hit counts (the first
  // hits render before the fused ranking replaces them).
  ol.dataset.stages = ((ol.dataset.stages || "") + " " + stage + ":" + result.hits.length).trim();
  ol.dataset.stage = stage;
  $("status").className = "";
  $("status").textContent = result.hits.length + " result" + (result.hits.length === 1 ? "" : "s") +
    " (" + result.mode + ", " + result.took_ms.toFixed(1) + " ms)" + (result.partial ? " — partial: " + result.partial : "") +
    (stage === "keyword" ? " — ranking…" : "");
}

// Server-Sent Events from a fetch body: EventSource can neither POST nor
// send the Authorization header. Calls onEvent(name, data) per event.
async function readEvents(resp, onEvent) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    // Line ends normalised on the whole buffer (a CR LF may span two reads;
    // a lone CR at the end waits for the next read).
    buf += decoder.decode(value, { stream: true });
    buf = buf.replace(/\r\n/g, "\n").replace(/\r(?=.)/gs, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let name = "message", data = null;
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) {
          const d = line.slice(5).replace(/^ /, "");
          data = data === null ? d : data + "\n" + d;
        }
      }
      if (data !== null) onEvent(name, JSON.parse(data));
    }
  }
}

let running = null;

async function search() {
  const q = $("q").value.trim();
  if (!q) return;
  const filters = { sources: list($("source").value), kinds: list($("kind").value), labels: list($("label").value) };
  if ($("after").value) filters.updated_after = $("after").value + "T00:00:00Z";
  const params = new URLSearchParams({ q, mode: $("mode").value });
  history.replaceState(null, "", "?" + params);
  $("status").className = "";
  $("status").textContent = "searching…";
  // A new search ends the one still streaming (the server stops its legs).
  if (running) running.abort();
  const controller = new AbortController();
  running = controller;
  $("hits").dataset.stages = "";
  try {
    const resp = await fetch("/v1/search/stream", { method: "POST", headers: headers(), signal: controller.signal,
      body: JSON.stringify({ query: q, mode: $("mode").value, top_k: 20, filters, related: true }) });
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({ error: "HTTP " + resp.status }));
      throw new Error(body.error || ("HTTP " + resp.status));
    }
    let shown = null;
    let failed = null;
    let finished = false;
    await readEvents(resp, (name, data) => {
      if (controller.signal.aborted) return;
      if (name === "done") finished = true;
      if (name === "keyword" || name === "results") {
        shown = data;
        renderHits(data, name);
      } else if (name === "related" && shown) {
        for (const h of shown.hits) h.related = data.related[h.id] || [];
        renderHits(shown, name);
      } else if (name === "error") {
        failed = data.error;
      }
    });
    if (failed) throw new Error(failed);
    if (!finished && !controller.signal.aborted) throw new Error("the answer was cut off; try again");
  } catch (e) {
    // A newer search replaced this one: it owns the page now.
    if (e.name === "AbortError" || controller.signal.aborted) return;
    $("hits").replaceChildren();
    $("status").className = "error";
    $("status").textContent = "Search failed: " + e.message;
  }
}

async function pipelines() {
  const box = $("pipelines");
  try {
    const resp = await fetch("/v1/pipelines", { headers: headers() });
    if (resp.status === 404) { box.textContent = "Pipeline status is shown when the page is served by `sluice daemon`."; return; }
    const body = await resp.json();
    if (!resp.ok) { box.textContent = body.error || ("HTTP " + resp.status); return; }
    const table = document.createElement("table");
    const head = table.insertRow();
    for (const c of ["pipeline", "source", "last run", "status", "added / updated / deleted", "next run", "error"]) head.append(text("th", "", c));
    for (const p of body) {
      for (const s of p.sources) {
        const r = s.last_run || {};
        const row = table.insertRow();
        row.className = "pipeline-row";
        for (const v of [p.name, s.id, r.finished_at || "never", r.status || (s.running ? "running" : "—"),
                         r.status ? [r.docs_added, r.docs_updated, r.docs_deleted].join(" / ") : "",
                         s.next_run || "", p.rejected || r.error || ""]) row.insertCell().textContent = v;
      }
    }
    box.replaceChildren(table);
  } catch (e) {
    box.textContent = "Cannot load pipeline status: " + e.message;
  }
}

$("key").value = sessionStorage.getItem("sluice_key") || "";
$("key").addEventListener("change", () => { sessionStorage.setItem("sluice_key", $("key").value.trim()); pipelines(); });
$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
const initial = new URLSearchParams(location.search);
if (initial.get("mode")) $("mode").value = initial.get("mode");
if (initial.get("q")) { $("q").value = initial.get("q"); search(); }
pipelines();
