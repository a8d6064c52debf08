// The page's script: four views (exchanges, exchange, session, overview) drawn from kgb ui's JSON API. Every value
// from a record reaches the page as text (textContent, SVG text nodes), never as markup: a prompt holding
// `<script>` shows as those characters. The Content-Security-Policy allows this file only, as a second fence.

let scriptText: StaticString = #"""
"use strict";

// ---------- DOM and formatting helpers ----------

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const main = () => document.getElementById("main");
function show(...children) { const m = main(); m.replaceChildren(); append(m, children); }

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}
function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms >= 1000 ? (ms / 1000).toFixed(ms >= 10000 ? 1 : 2) + " s" : ms < 10 ? ms.toFixed(1) + " ms" : Math.round(ms) + " ms";
}
function fmtCost(usd) {
  if (usd === null || usd === undefined) return "–";
  if (usd === 0) return "$0";
  return "$" + (usd >= 1 ? usd.toFixed(2) : usd >= 0.01 ? usd.toFixed(4) : usd.toPrecision(3));
}
function fmtInt(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString(); }
function short(text, n) { text = String(text ?? ""); return text.length > n ? text.slice(0, n - 1) + "…" : text; }

async function api(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error((await response.text()).trim() || response.statusText);
  return response.json();
}

function failure(error) { return h("p", { class: "error" }, "Could not load: ", error.message); }

// ---------- routing ----------

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active",
    a.dataset.view === (parts[0] === "overview" ? "overview" : "exchanges")));
  current = null;
  if (parts[0] === "exchange" && parts[1]) exchangeView(parts[1]);
  else if (parts[0] === "session" && parts[1]) sessionView(parts[1]);
  else if (parts[0] === "overview") overviewView(params);
  else exchangesView(params);
}
let current = null;  // the view listening for arrivals: { refresh() }
window.addEventListener("hashchange", route);

// ---------- live updates ----------

function startLive() {
  const badge = document.getElementById("live");
  const source = new EventSource("/api/live");
  source.onopen = () => { badge.className = "live on"; };
  source.onerror = () => { badge.className = "live off"; };
  source.addEventListener("arrival", () => { if (current) current.refresh(); });
}

// ---------- the exchanges list ----------

const RANGES = { "": "any time", "15m": "last 15 minutes", "1h": "last hour", "24h": "last 24 hours", "7d": "last 7 days" };
const SECONDS = { "15m": 900, "1h": 3600, "24h": 86400, "7d": 604800 };
const FILTERS = ["agent", "session", "model", "status", "outcome", "upstream", "since", "from", "to", "q"];
let facets = null;

async function loadFacets() {
  try { facets = await api("/api/facets"); } catch (e) { facets = { agents: [], models: [], upstreams: [] }; }
}

function apiQuery(params) {
  const q = new URLSearchParams();
  for (const name of FILTERS) {
    const value = params.get(name);
    if (!value) continue;
    if (name === "since") q.set("from", new Date(Date.now() - SECONDS[value] * 1000).toISOString());
    else q.set(name, value);
  }
  if (params.get("before")) q.set("before", params.get("before"));
  return q;
}

async function exchangesView(params) {
  // The filters' suggestions arrive when they arrive; the list does not wait for them.
  if (!facets) loadFacets().then(fillSuggestions);
  const form = filterForm(params);
  const table = h("div", { class: "table-wrap" }, h("p", { class: "muted" }, "Loading…"));
  const pager = h("div", { class: "pager" });
  show(h("h1", {}, "Exchanges"), form, table, pager);
  let shown = new Set();
  async function load(isRefresh) {
    let data;
    try { data = await api("/api/exchanges?" + apiQuery(params)); }
    catch (e) { table.replaceChildren(failure(e)); return; }
    const fresh = isRefresh ? new Set(data.rows.map(r => r[0]).filter(id => !shown.has(id))) : new Set();
    shown = new Set(data.rows.map(r => r[0]));
    table.replaceChildren(exchangesTable(data, fresh));
    pager.replaceChildren();
    if (params.get("before")) {
      const newest = new URLSearchParams(params); newest.delete("before");
      pager.append(h("a", { href: "#/?" + newest, class: "button" }, "← Newest"));
    }
    if (data.searched_to) {
      pager.append(h("span", { class: "muted" }, "Searched back to " + fmtTime(data.searched_to) + " in the time allowed. "));
    }
    if (data.next) {
      const older = new URLSearchParams(params); older.set("before", data.next);
      pager.append(h("a", { href: "#/?" + older, class: "button", id: "older" }, data.searched_to ? "Search older →" : "Older →"));
    }
  }
  await load(false);
  // Live: new exchanges appear on the first page; an older page stays as it is.
  if (!params.get("before")) current = { refresh: () => load(true) };
}

function fillSuggestions() {
  for (const [name, values] of [["agent", facets.agents], ["model", facets.models], ["upstream", facets.upstreams]]) {
    const list = document.getElementById("list-" + name);
    if (list) list.replaceChildren(...(values || []).map(v => h("option", { value: v[0] })));
  }
}

function filterForm(params) {
  const input = (name, placeholder, list) => h("label", {}, h("span", {}, placeholder),
    h("input", { name, value: params.get(name) || "", placeholder: "any", list: list ? "list-" + name : null, autocomplete: "off" }));
  const known = facets || {};
  const datalist = (name, values) => h("datalist", { id: "list-" + name }, (values || []).map(v => h("option", { value: v[0] })));
  const select = (name, label, options) => h("label", {}, h("span", {}, label),
    h("select", { name }, Object.entries(options).map(([value, text]) =>
      h("option", { value, selected: (params.get(name) || "") === value }, text))));
  const outcomes = { "": "any" };
  for (const o of ["complete", "client_aborted", "upstream_error", "upstream_timeout", "rejected"]) outcomes[o] = o;
  const form = h("form", { class: "filters", id: "filters" },
    input("agent", "Agent", true), datalist("agent", known.agents),
    input("session", "Session"),
    input("model", "Model", true), datalist("model", known.models),
    input("status", "Status (429, 5xx)"),
    select("outcome", "Outcome", outcomes),
    input("upstream", "Upstream", true), datalist("upstream", known.upstreams),
    select("since", "When", RANGES),
    input("from", "From (UTC)"), input("to", "To (UTC)"),
    h("label", { class: "wide" }, h("span", {}, "Text in bodies"), h("input", { name: "q", value: params.get("q") || "", placeholder: "search…", type: "search" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Filter"), h("a", { href: "#/", class: "button plain" }, "Clear")));
  form.addEventListener("submit", event => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (String(value).trim()) next.set(name, String(value).trim());
    location.hash = "#/?" + next;
  });
  form.addEventListener("change", event => { if (event.target.tagName === "SELECT") form.requestSubmit(); });
  return form;
}

function exchangesTable(data, fresh) {
  const col = Object.fromEntries(data.columns.map((name, i) => [name, i]));
  if (!data.rows.length) return h("p", { class: "muted", id: "empty" }, "No exchanges match.");
  return h("table", { class: "exchanges" },
    h("thead", {}, h("tr", {}, ["Time", "Agent", "Model", "Status", "Tokens in / out", "Cost", "TTFB", "First token", "Duration", "Request"].map(t => h("th", {}, t)))),
    h("tbody", {}, data.rows.map(r => {
      const failed = r[col.outcome] !== "complete" || r[col.status] >= 400;
      const link = "#/exchange/" + encodeURIComponent(r[col.id]);
      return h("tr", { class: (failed ? "failed " : "") + (fresh.has(r[col.id]) ? "new" : ""), "data-id": r[col.id],
          onclick: e => { if (e.target.tagName !== "A") location.hash = link; } },
        h("td", {}, h("a", { href: link }, fmtTime(r[col.started_at]))),
        h("td", {}, r[col.agent] || h("span", { class: "muted" }, "–"),
          r[col.session] ? h("a", { class: "session", href: "#/session/" + encodeURIComponent(r[col.session]), title: "session " + r[col.session] }, "session") : null),
        h("td", {}, r[col.model] || "–"),
        h("td", {}, h("span", { class: "status s" + String(r[col.status] || "0")[0] }, r[col.status] ?? "–"),
          r[col.outcome] !== "complete" ? h("span", { class: "outcome", title: r[col.error] || "" }, " " + r[col.outcome]) : null),
        h("td", { class: "num" }, fmtInt(r[col.input_tokens]) + " / " + fmtInt(r[col.output_tokens])),
        h("td", { class: "num" }, fmtCost(r[col.cost_usd])),
        h("td", { class: "num" }, fmtMs(r[col.ttfb_ms])),
        h("td", { class: "num" }, fmtMs(r[col.first_token_ms])),
        h("td", { class: "num" }, fmtMs(r[col.total_ms])),
        h("td", { class: "path" }, (r[col.method] || "") + " " + (r[col.path] || ""),
          failed && r[col.error] ? h("div", { class: "error-text" }, short(r[col.error], 120)) : null));
    })));
}

// ---------- reading records: requests and answers of both APIs ----------

// A body as the record holds it: a string, {"base64": ...}, or {"file": PATH, "bytes": N} when it was kept past
// 1 MiB in a file on the gateway's disk (not in the record, so not here).
function bodyText(body) {
  if (body === null || body === undefined) return "";
  if (typeof body === "string") return body;
  if (body.base64 !== undefined) { try { return atob(body.base64); } catch (e) { return ""; } }
  if (body.file !== undefined) return "";
  return JSON.stringify(body);
}
function inFile(body) { return body && typeof body === "object" && body.file !== undefined ? body : null; }
function fileNote(body) {
  const file = inFile(body);
  return file ? h("p", { class: "muted file-note" }, "Kept in a file on the gateway's disk, not in the record: " + file.file + " (" + fmtInt(file.bytes) + " bytes).") : null;
}
function parseJSON(text) { try { return JSON.parse(text); } catch (e) { return null; } }

// A message as blocks: { kind: text | thinking | tool_use | tool_result | image | other, ... }.
function blocksOf(content) {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return [{ kind: "text", text: content }];
  if (!Array.isArray(content)) return [{ kind: "other", value: content }];
  return content.map(b => {
    if (typeof b === "string") return { kind: "text", text: b };
    switch (b.type) {
      case "text": case "input_text": case "output_text": return { kind: "text", text: b.text };
      case "thinking": return { kind: "thinking", text: b.thinking };
      case "redacted_thinking": return { kind: "thinking", text: "(redacted)" };
      case "tool_use": return { kind: "tool_use", name: b.name, id: b.id, input: b.input };
      case "tool_result": return { kind: "tool_result", id: b.tool_use_id, error: b.is_error, blocks: blocksOf(b.content) };
      case "image": case "image_url": return { kind: "image" };
      default: return { kind: "other", value: b };
    }
  });
}

// The request: { system, messages: [{role, blocks}], tools: [{name, description}], params }.
function readRequest(record) {
  const body = parseJSON(bodyText(record.request && record.request.body)) || {};
  const messages = [];
  let system = body.system ? blocksOf(body.system) : [];
  for (const m of body.messages || []) {
    if (m.role === "system" || m.role === "developer") { system = system.concat(blocksOf(m.content)); continue; }
    let blocks = blocksOf(m.content);
    for (const call of m.tool_calls || []) {
      blocks.push({ kind: "tool_use", name: call.function && call.function.name, id: call.id,
        input: parseJSON(call.function && call.function.arguments) ?? (call.function && call.function.arguments) });
    }
    if (m.role === "tool") blocks = [{ kind: "tool_result", id: m.tool_call_id, blocks }];
    messages.push({ role: m.role, blocks, raw: m });
  }
  const tools = (body.tools || []).map(t => t.function ? { name: t.function.name, description: t.function.description }
                                                       : { name: t.name || t.type, description: t.description });
  const params = {};
  for (const [k, v] of Object.entries(body)) if (!["messages", "system", "tools"].includes(k)) params[k] = v;
  return { system, messages, tools, params, body };
}

// The answer, reassembled from an SSE stream or read from a JSON body: { blocks, stopReason }.
function readAnswer(record) {
  const response = record.response || {};
  if (inFile(response.body)) {
    // The stream's text as the logger read it (its first MiB) stands in for the body it cannot show.
    const text = record.sse && record.sse.text;
    return { blocks: text ? [{ kind: "text", text }] : [], stopReason: (record.usage || {}).stop_reason || null };
  }
  const text = bodyText(response.body);
  const contentType = ((response.headers || {})["content-type"] || "").toLowerCase();
  if (contentType.includes("text/event-stream") || record.sse || /^(event|data):/m.test(text.slice(0, 200))) return fromSSE(text);
  const json = parseJSON(text);
  if (!json) return { blocks: text ? [{ kind: "text", text }] : [], stopReason: null };
  if (json.error) return { blocks: [{ kind: "error", text: json.error.message || JSON.stringify(json.error) }], stopReason: null };
  if (Array.isArray(json.content)) return { blocks: blocksOf(json.content), stopReason: json.stop_reason };
  if (Array.isArray(json.choices) && json.choices[0]) {
    const m = json.choices[0].message || {};
    const blocks = blocksOf(m.content);
    for (const call of m.tool_calls || []) blocks.push({ kind: "tool_use", name: call.function.name, id: call.id, input: parseJSON(call.function.arguments) ?? call.function.arguments });
    return { blocks, stopReason: json.choices[0].finish_reason };
  }
  return { blocks: [{ kind: "other", value: json }], stopReason: null };
}

function fromSSE(text) {
  const blocks = [];
  const openai = [];  // tool calls by index
  let stopReason = null;
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event.split(/\r?\n/).filter(l => l.startsWith("data:")).map(l => l.slice(5).trimStart()).join("\n");
    if (!data || data === "[DONE]") continue;
    const e = parseJSON(data);
    if (!e) continue;
    if (e.type === "content_block_start") {
      const b = e.content_block || {};
      blocks[e.index] = b.type === "tool_use" || b.type === "server_tool_use" ? { kind: "tool_use", name: b.name, id: b.id, json: "" }
        : b.type === "thinking" ? { kind: "thinking", text: b.thinking || "" }
        : b.type === "redacted_thinking" ? { kind: "thinking", text: "(redacted)" }
        : { kind: "text", text: b.text || "" };
    } else if (e.type === "content_block_delta") {
      const b = blocks[e.index] || (blocks[e.index] = { kind: "text", text: "" });
      const d = e.delta || {};
      if (d.type === "text_delta") b.text = (b.text || "") + d.text;
      else if (d.type === "thinking_delta") b.text = (b.text || "") + d.thinking;
      else if (d.type === "input_json_delta") b.json = (b.json || "") + d.partial_json;
    } else if (e.type === "message_delta") {
      stopReason = (e.delta && e.delta.stop_reason) || stopReason;
    } else if (e.type === "error") {
      blocks.push({ kind: "error", text: (e.error && e.error.message) || data });
    } else if (Array.isArray(e.choices)) {
      for (const choice of e.choices) {
        const d = choice.delta || {};
        if (d.content) {
          const last = blocks[blocks.length - 1];
          if (last && last.kind === "text" && !last.fromTools) last.text += d.content; else blocks.push({ kind: "text", text: d.content });
        }
        if (d.reasoning_content) blocks.push({ kind: "thinking", text: d.reasoning_content });
        for (const call of d.tool_calls || []) {
          let b = openai[call.index];
          if (!b) { b = openai[call.index] = { kind: "tool_use", name: "", id: call.id, json: "" }; blocks.push(b); }
          if (call.function && call.function.name) b.name += call.function.name;
          if (call.function && call.function.arguments) b.json += call.function.arguments;
        }
        if (choice.finish_reason) stopReason = choice.finish_reason;
      }
    }
  }
  for (const b of blocks) if (b && b.kind === "tool_use" && b.json !== undefined) b.input = parseJSON(b.json) ?? b.json;
  return { blocks: blocks.filter(Boolean), stopReason };
}

// ---------- drawing a conversation ----------

function blockView(b) {
  switch (b.kind) {
    case "text": return h("div", { class: "block text" }, b.text);
    case "thinking": return h("details", { class: "block thinking" }, h("summary", {}, "thinking"), h("div", {}, b.text));
    case "tool_use": return h("div", { class: "block tool-use" }, h("div", { class: "tool-name" }, "tool call: ", h("b", {}, b.name || "?"), b.id ? h("span", { class: "muted" }, " " + b.id) : null),
      h("pre", {}, typeof b.input === "string" ? b.input : JSON.stringify(b.input, null, 2)));
    case "tool_result": return h("div", { class: "block tool-result" + (b.error ? " failed" : "") }, h("div", { class: "tool-name" }, "tool result", b.id ? h("span", { class: "muted" }, " " + b.id) : null),
      (b.blocks || []).map(blockView));
    case "image": return h("div", { class: "block muted" }, "[image]");
    case "error": return h("div", { class: "block error" }, b.text);
    default: return h("pre", { class: "block other" }, JSON.stringify(b.value, null, 2));
  }
}

function messageView(role, blocks, extra) {
  return h("div", { class: "message " + role }, h("div", { class: "role" }, role, extra || null), blocks.map(blockView));
}

// ---------- one exchange ----------

async function exchangeView(id) {
  show(h("p", { class: "muted" }, "Loading…"));
  let record;
  try { record = (await api("/api/exchange/" + encodeURIComponent(id))).record; } catch (e) { show(failure(e)); return; }
  const request = readRequest(record);
  const answer = readAnswer(record);
  const usage = record.usage || {};
  const agent = record.agent || {};
  const failed = record.outcome !== "complete";
  show(
    h("h1", {}, "Exchange ", h("span", { class: "mono" }, record.id)),
    h("div", { class: "facts" },
      fact("Started", fmtTime(record.started_at)), fact("Agent", agent.name || "–"),
      fact("Session", agent.session ? h("a", { href: "#/session/" + encodeURIComponent(agent.session) }, short(agent.session, 24)) : "–"),
      fact("Model", usage.model || request.params.model || "–"),
      fact("Status", String((record.response || {}).status ?? "–")), fact("Outcome", record.outcome, failed ? "failed" : null),
      fact("Tokens in / out", fmtInt(usage.input_tokens) + " / " + fmtInt(usage.output_tokens)),
      fact("Cache read / write", fmtInt(usage.cache_read_input_tokens) + " / " + fmtInt(usage.cache_creation_input_tokens)),
      fact("Cost", fmtCost(record.cost_usd)), fact("Request", (record.method || "") + " " + (record.path || "")),
      fact("Upstream", record.upstream || "–"), fact("Client", (agent.user_agent || "") + " " + (record.client || ""))),
    record.error ? h("p", { class: "error", id: "exchange-error" }, record.error) : null,
    h("h2", {}, "Timing"), timingBar(record.timing || {}),
    h("h2", {}, "Request"),
    fileNote((record.request || {}).body),
    request.system.length ? messageView("system", request.system) : null,
    request.tools.length ? h("details", { class: "tools" }, h("summary", {}, request.tools.length + " tools offered: " + short(request.tools.map(t => t.name).join(", "), 160)),
      h("ul", {}, request.tools.map(t => h("li", {}, h("b", {}, t.name), " ", h("span", { class: "muted" }, short(t.description || "", 300)))))) : null,
    h("details", { class: "params" }, h("summary", {}, "Parameters"), h("pre", {}, JSON.stringify(request.params, null, 2))),
    h("div", { class: "conversation" }, request.messages.map(m => messageView(m.role, m.blocks))),
    h("h2", {}, "Answer", answer.stopReason ? h("span", { class: "muted" }, " (" + answer.stopReason + ")") : null),
    fileNote((record.response || {}).body),
    h("div", { class: "conversation answer", id: "answer" }, messageView("assistant", answer.blocks)),
    h("h2", {}, "Headers"),
    h("div", { class: "columns" }, headersTable("Request", (record.request || {}).headers), headersTable("Response", (record.response || {}).headers)),
    h("h2", {}, "Copy as curl"), curlView(record),
    h("h2", {}, "Raw"),
    h("details", {}, h("summary", {}, "Request body (" + fmtInt((record.request || {}).body_bytes) + " bytes)"), fileNote((record.request || {}).body), h("pre", { class: "raw" }, bodyText((record.request || {}).body))),
    h("details", {}, h("summary", {}, "Response body (" + fmtInt((record.response || {}).body_bytes) + " bytes)"), fileNote((record.response || {}).body), h("pre", { class: "raw" }, bodyText((record.response || {}).body))),
    h("details", {}, h("summary", {}, "Record"), h("pre", { class: "raw" }, JSON.stringify(record, null, 2))));
}

function fact(label, value, cls) { return h("div", { class: "fact " + (cls || "") }, h("span", {}, label), h("b", {}, value)); }

function headersTable(title, headers) {
  return h("div", {}, h("h3", {}, title), h("table", { class: "headers" }, Object.entries(headers || {}).map(([k, v]) =>
    h("tr", {}, h("td", { class: "mono" }, k), h("td", { class: "mono" }, Array.isArray(v) ? v.join(", ") : String(v))))));
}

// Phases as one bar: connect, TLS, waiting for the head, the head to the first token, the rest of the stream.
function timingBar(t) {
  const total = t.total_ms || 0;
  const marks = [["connect", t.upstream_connect_ms], ["TLS", t.upstream_tls_ms], ["TTFB", t.ttfb_ms], ["first token", t.first_token_ms], ["total", t.total_ms]];
  const width = 800, scale = total > 0 ? width / total : 0;
  let previous = 0;
  const colors = { "connect": "#8ab4f8", "TLS": "#c58af9", "TTFB": "#fdd663", "first token": "#f28b82", "total": "#81c995" };
  const bars = [];
  for (const [name, value] of marks) {
    if (value === null || value === undefined) continue;
    const at = name === "TLS" ? (t.upstream_connect_ms || 0) : value;
    const start = name === "TLS" ? Math.max(0, at - value) : previous;
    const end = name === "TLS" ? at : value;
    bars.push(s("rect", { x: start * scale, y: 4, width: Math.max(1, (end - start) * scale), height: 22, fill: colors[name] }, s("title", {}, name + ": " + fmtMs(value))));
    if (name !== "TLS") previous = Math.max(previous, value);
  }
  const svg = s("svg", { class: "timing", viewBox: `0 0 ${width} 30`, preserveAspectRatio: "none", role: "img" }, bars);
  return h("div", { class: "timing-wrap" }, svg, h("div", { class: "legend" }, marks.map(([name, value]) =>
    h("span", {}, h("i", { style: null, class: "swatch", "data-color": colors[name] }), name + " " + fmtMs(value)))));
}

function curlView(record) {
  const quote = text => "'" + String(text).replace(/'/g, "'\\''") + "'";
  const secret = { "x-api-key": "$API_KEY", "authorization": "Bearer $API_KEY", "proxy-authorization": null, "cookie": null };
  const skip = new Set(["host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive", "te", "upgrade"]);
  const lines = ["curl " + quote((record.upstream || "") + (record.path || "")) + (record.method && record.method !== "GET" && record.method !== "POST" ? " -X " + record.method : "")];
  for (const [name, value] of Object.entries((record.request || {}).headers || {})) {
    if (skip.has(name)) continue;
    if (name in secret) { if (secret[name]) lines.push("-H \"" + name + ": " + secret[name] + "\""); continue; }
    lines.push("-H " + quote(name + ": " + (Array.isArray(value) ? value.join(", ") : value)));
  }
  const body = bodyText((record.request || {}).body);
  const file = inFile((record.request || {}).body);
  if (file) lines.push("--data-binary @" + quote(file.file));
  else if (body) lines.push("--data-binary " + quote(body));
  const text = lines.join(" \\\n  ");
  const pre = h("pre", { class: "raw", id: "curl" }, text);
  const button = h("button", { type: "button", onclick: () => navigator.clipboard && navigator.clipboard.writeText(text).then(() => { button.textContent = "Copied"; }) }, "Copy");
  return h("div", { class: "curl" }, button, h("p", { class: "muted" }, "Secrets are not stored: set API_KEY first."), pre);
}

// ---------- one session ----------

async function sessionView(id) {
  show(h("p", { class: "muted" }, "Loading…"));
  let data;
  try { data = await api("/api/session/" + encodeURIComponent(id)); } catch (e) { show(failure(e)); return; }
  const records = data.records;
  let tokensIn = 0, tokensOut = 0, cost = 0, costKnown = false;
  for (const r of records) {
    const u = r.usage || {};
    tokensIn += u.input_tokens || 0; tokensOut += u.output_tokens || 0;
    if (typeof r.cost_usd === "number") { cost += r.cost_usd; costKnown = true; }
  }
  const agents = [...new Set(records.map(r => (r.agent || {}).name).filter(Boolean))];
  const turns = [];
  let previous = [];
  records.forEach((record, index) => {
    const request = readRequest(record);
    const answer = readAnswer(record);
    // What this turn added: the messages after the part it shares with the previous request, less the previous
    // answer echoed back as the first of them (it is shown under the previous turn).
    const keys = request.messages.map(m => JSON.stringify(m.raw));
    let common = 0;
    while (common < keys.length && common < previous.length && keys[common] === previous[common]) common++;
    let added = request.messages.slice(common);
    if (common > 0 && added.length && added[0].role === "assistant") added = added.slice(1);
    previous = keys;
    const u = record.usage || {};
    turns.push(h("section", { class: "turn" + (record.outcome !== "complete" ? " failed" : ""), "data-id": record.id },
      h("div", { class: "turn-head" }, h("b", {}, "Turn " + (index + 1)), " ", fmtTime(record.started_at), " · ", u.model || request.params.model || "",
        " · ", fmtInt(u.input_tokens), " in / ", fmtInt(u.output_tokens), " out · ", fmtCost(record.cost_usd), " · ", fmtMs((record.timing || {}).total_ms),
        record.outcome !== "complete" ? h("span", { class: "outcome" }, " · " + record.outcome + (record.error ? ": " + record.error : "")) : null,
        " ", h("a", { href: "#/exchange/" + encodeURIComponent(record.id) }, "exchange →")),
      index === 0 && request.system.length ? h("details", {}, h("summary", {}, "system prompt"), messageView("system", request.system)) : null,
      h("div", { class: "conversation" }, added.map(m => messageView(m.role, m.blocks)), messageView("assistant", answer.blocks))));
  });
  show(h("h1", {}, "Session ", h("span", { class: "mono" }, short(id, 48))),
    h("div", { class: "facts" }, fact("Agent", agents.join(", ") || "–"), fact("Turns", String(records.length) + (data.truncated ? "+" : "")),
      fact("Tokens in / out", fmtInt(tokensIn) + " / " + fmtInt(tokensOut)), fact("Cost", costKnown ? fmtCost(cost) : "–"),
      fact("From", fmtTime(records.length ? records[0].started_at : null)), fact("To", fmtTime(records.length ? records[records.length - 1].started_at : null))),
    h("p", {}, h("a", { href: "#/?session=" + encodeURIComponent(id) }, "This session's exchanges as a list")),
    turns.length ? turns : h("p", { class: "muted" }, "No exchanges in this session."));
  current = { refresh: async () => {
    try { const again = await api("/api/session/" + encodeURIComponent(id)); if (again.records.length !== records.length) sessionView(id); } catch (e) {}
  } };
}

// ---------- the overview ----------

const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

async function overviewView(params) {
  const range = params.get("range") || "today";
  const spans = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000 };
  const to = new Date(Date.now() + 60000);
  const from = range === "today" ? new Date(new Date().setHours(0, 0, 0, 0)) : new Date(to - (spans[range] || 86400) * 1000);
  const picker = h("div", { class: "ranges" }, ["today"].concat(Object.keys(spans)).map(r =>
    h("a", { href: "#/overview?range=" + r, class: "button" + (r === range ? " active" : "") }, r === "today" ? "today" : "last " + r)));
  show(h("h1", {}, "Overview"), picker, h("p", { class: "muted" }, "Loading…"));
  let data;
  try { data = await api(`/api/overview?from=${from.toISOString()}&to=${to.toISOString()}`); } catch (e) { show(h("h1", {}, "Overview"), picker, failure(e)); return; }
  const buckets = bucketsBetween(from, to, data.bucket);
  const all = data.overall[0] || [];
  const [count, tin, tout, cost, ttfb50, ttfb90, ttfb99, ft50, ft90, ft99, tot50, tot90, tot99] = all;
  // data.sums: [bucket, agent, model, outcome, requests, tokens in, tokens out, cost, failed]
  const byAgent = series(data.sums, 1, 4), costByAgent = series(data.sums, 1, 7), costByModel = series(data.sums, 2, 7);
  const outcomes = new Map();
  for (const row of data.sums) outcomes.set(row[3], (outcomes.get(row[3]) || 0) + row[4]);
  const latency = (i) => [["p50", 2 + i], ["p90", 3 + i], ["p99", 4 + i]].map(([name, column]) =>
    ({ name, points: new Map(data.latency.map(row => [row[0], row[column]])) }));
  show(h("h1", {}, "Overview"), picker,
    h("div", { class: "facts" }, fact("Requests", fmtInt(count)), fact("Tokens in / out", fmtInt(tin) + " / " + fmtInt(tout)), fact("Cost", fmtCost(cost)),
      fact("TTFB p50 / p90 / p99", [ttfb50, ttfb90, ttfb99].map(fmtMs).join(" / ")),
      fact("First token p50 / p90 / p99", [ft50, ft90, ft99].map(fmtMs).join(" / ")),
      fact("Total p50 / p90 / p99", [tot50, tot90, tot99].map(fmtMs).join(" / "))),
    h("div", { class: "charts" },
      chartBox("Requests per agent", stackedBars(buckets, byAgent, fmtInt)),
      chartBox("Cost per agent", stackedBars(buckets, costByAgent, fmtCost)),
      chartBox("Cost per model", stackedBars(buckets, costByModel, fmtCost)),
      chartBox("Time to first byte", lines(buckets, latency(0))),
      chartBox("Time to first token", lines(buckets, latency(3))),
      chartBox("Total duration", lines(buckets, latency(6)))),
    h("div", { class: "columns" }, totalsTable("Agent", data.sums, 1, "agent"), totalsTable("Model", data.sums, 2, "model")),
    h("h2", {}, "Outcomes"),
    h("table", { class: "totals" }, h("tr", {}, h("th", {}, "Outcome"), h("th", {}, "Exchanges")), [...outcomes].sort((a, b) => b[1] - a[1]).map(([outcome, n]) =>
      h("tr", {}, h("td", {}, h("a", { href: "#/?outcome=" + encodeURIComponent(outcome) + "&from=" + from.toISOString() }, outcome)), h("td", { class: "num" }, fmtInt(n))))));
}

function chartBox(title, chart) { return h("figure", { class: "chart" }, h("figcaption", {}, title), chart); }

// Every bucket label between from and to, as the store spells them (2026-11-25T12, ...).
function bucketsBetween(from, to, size) {
  const cut = { minute: 16, hour: 13, day: 10 }[size];
  const step = { minute: 60000, hour: 3600000, day: 86400000 }[size];
  const labels = [];
  for (let t = Math.floor(from / step) * step; t < to; t += step) labels.push(new Date(t).toISOString().slice(0, cut));
  return labels;
}

// Rows [bucket, ...] → [{ name: row[keyColumn], points: Map(bucket → sum of row[column]) }], largest first, the
// rest as "other".
function series(rows, keyColumn, column) {
  const byKey = new Map();
  for (const row of rows) {
    const key = row[keyColumn] ?? "(none)";
    if (!byKey.has(key)) byKey.set(key, new Map());
    byKey.get(key).set(row[0], (byKey.get(key).get(row[0]) || 0) + (row[column] || 0));
  }
  const list = [...byKey].map(([name, points]) => ({ name, points, sum: [...points.values()].reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.sum - a.sum);
  if (list.length <= PALETTE.length) return list;
  const other = { name: "other", points: new Map(), sum: 0 };
  for (const item of list.slice(PALETTE.length - 1)) for (const [b, v] of item.points) other.points.set(b, (other.points.get(b) || 0) + v);
  return list.slice(0, PALETTE.length - 1).concat([other]);
}

const W = 560, H = 200, PAD = { left: 56, right: 8, top: 10, bottom: 22 };

function axes(buckets, max, format) {
  const items = [];
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - f);
    items.push(s("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }));
    items.push(s("text", { x: PAD.left - 4, y: y + 4, "text-anchor": "end", class: "tick" }, format(max * f)));
  }
  const n = buckets.length;
  for (const i of [0, Math.floor(n / 2), n - 1]) {
    if (i < 0 || !buckets[i]) continue;
    const x = PAD.left + (W - PAD.left - PAD.right) * (i + 0.5) / n;
    items.push(s("text", { x, y: H - 6, "text-anchor": "middle", class: "tick" }, bucketLabel(buckets[i])));
  }
  return items;
}

function bucketLabel(bucket) {
  const iso = bucket.length === 10 ? bucket + "T00:00:00Z" : bucket.length === 13 ? bucket + ":00:00Z" : bucket + ":00Z";
  const d = new Date(iso);
  return bucket.length === 10 ? d.toLocaleDateString() : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

function legend(items) {
  return h("div", { class: "legend" }, items.map((item, i) => h("span", {}, h("i", { class: "swatch", "data-color": PALETTE[i % PALETTE.length] }), item.name)));
}

function stackedBars(buckets, list, format) {
  const totals = buckets.map(b => list.reduce((sum, item) => sum + (item.points.get(b) || 0), 0));
  const max = Math.max(...totals, 0);
  if (!list.length || max <= 0) return h("p", { class: "muted empty-chart" }, "Nothing in this range.");
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom, barW = plotW / buckets.length;
  const bars = [];
  buckets.forEach((b, i) => {
    let y = PAD.top + plotH;
    list.forEach((item, k) => {
      const v = item.points.get(b) || 0;
      if (v <= 0) return;
      const height = v / max * plotH;
      y -= height;
      bars.push(s("rect", { x: PAD.left + i * barW + barW * 0.1, y, width: Math.max(1, barW * 0.8), height, fill: PALETTE[k % PALETTE.length] },
        s("title", {}, item.name + " · " + bucketLabel(b) + ": " + format(v))));
    });
  });
  return h("div", {}, s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img" }, axes(buckets, max, format), bars), legend(list));
}

function lines(buckets, list) {
  const max = Math.max(0, ...list.flatMap(item => [...item.points.values()].filter(v => v !== null)));
  if (max <= 0) return h("p", { class: "muted empty-chart" }, "Nothing in this range.");
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const paths = list.map((item, k) => {
    let d = "", dots = [];
    buckets.forEach((b, i) => {
      const v = item.points.get(b);
      if (v === null || v === undefined) return;
      const x = PAD.left + plotW * (i + 0.5) / buckets.length, y = PAD.top + plotH * (1 - v / max);
      d += (d ? " L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
      dots.push(s("circle", { cx: x, cy: y, r: 2.5, fill: PALETTE[k] }, s("title", {}, item.name + " · " + bucketLabel(b) + ": " + fmtMs(v))));
    });
    return [s("path", { d, fill: "none", stroke: PALETTE[k], "stroke-width": 2 }), dots];
  });
  return h("div", {}, s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img" }, axes(buckets, max, fmtMs), paths), legend(list));
}

function totalsTable(title, rows, keyColumn, filter) {
  const sums = new Map();
  for (const row of rows) {
    const [n, tin, tout, cost, failed] = row.slice(4);
    const k = row[keyColumn] ?? "(none)";
    const t = sums.get(k) || { n: 0, tin: 0, tout: 0, cost: 0, failed: 0 };
    t.n += n || 0; t.tin += tin || 0; t.tout += tout || 0; t.cost += cost || 0; t.failed += failed || 0;
    sums.set(k, t);
  }
  const sorted = [...sums].sort((a, b) => b[1].cost - a[1].cost || b[1].n - a[1].n);
  return h("div", {}, h("h2", {}, "Per " + title.toLowerCase()), h("table", { class: "totals", id: "per-" + filter },
    h("tr", {}, [title, "Requests", "Failed", "Tokens in", "Tokens out", "Cost"].map(t => h("th", {}, t))),
    sorted.map(([k, t]) => h("tr", {},
      h("td", {}, k === "(none)" ? k : h("a", { href: "#/?" + filter + "=" + encodeURIComponent(k) }, k)),
      h("td", { class: "num" }, fmtInt(t.n)), h("td", { class: "num" }, fmtInt(t.failed)),
      h("td", { class: "num" }, fmtInt(t.tin)), h("td", { class: "num" }, fmtInt(t.tout)), h("td", { class: "num" }, fmtCost(t.cost))))));
}

// Swatch colours come from data-color (the policy allows no inline style attributes in markup, but script may set them).
const colorSwatches = new MutationObserver(() => {
  document.querySelectorAll("[data-color]").forEach(el => { el.style.background = el.dataset.color; el.removeAttribute("data-color"); });
});
colorSwatches.observe(document.documentElement, { childList: true, subtree: true });

startLive();
route();
"""#
