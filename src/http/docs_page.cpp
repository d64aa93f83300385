// GET /openapi.json and GET /docs: the API description (api/openapi.hpp) and a page that
// renders it. The page is self-contained -- inline style and script, no fonts, CDNs or
// other origins -- and its Content-Security-Policy forbids loading anything but
// /openapi.json from this server, so it works offline and leaks no request elsewhere.
// It builds the DOM with textContent only: nothing of the document is parsed as HTML.
#include "connection.hpp"
#include "sluice/api/openapi.hpp"

namespace sluice::http::detail {
namespace {

constexpr std::string_view k_page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #fafbfc; }
  header { padding: 18px 28px; background: #1d2330; color: #fff; }
  header h1 { margin: 0 0 4px; font-size: 22px; }
  header p { margin: 0; max-width: 70em; color: #c9d1e0; }
  main { padding: 12px 28px 40px; max-width: 84em; }
  #filter { width: 100%; max-width: 32em; padding: 7px 10px; font-size: 15px; margin: 10px 0 14px; }
  details.op { background: #fff; border: 1px solid #d8dde6; border-radius: 6px; margin: 8px 0; }
  details.op > summary { cursor: pointer; padding: 9px 12px; list-style: none; display: flex; gap: 10px; align-items: baseline; }
  details.op > summary::-webkit-details-marker { display: none; }
  .method { font: bold 12px monospace; text-transform: uppercase; padding: 2px 8px; border-radius: 4px; color: #fff; min-width: 4em; text-align: center; }
  .get { background: #2b7bd6; } .post { background: #2f9e5a; } .delete { background: #c9423a; }
  .path { font: 600 14px monospace; }
  .muted { color: #697386; }
  .badge { font-size: 11px; padding: 1px 7px; border-radius: 9px; border: 1px solid #bbc3cf; color: #4a5466; }
  .body { padding: 4px 14px 14px; border-top: 1px solid #eef0f4; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
  th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #eef0f4; }
  th { font-size: 12px; text-transform: uppercase; color: #697386; }
  td.name { font-family: monospace; white-space: nowrap; }
  td.type { font-family: monospace; font-size: 13px; color: #5b3fa0; }
  .honoured { color: #1f7a44; } .ignored { color: #8a6d00; } .refused { color: #b3261e; }
  .req { color: #b3261e; font-size: 11px; margin-left: 4px; }
  pre { background: #f3f5f8; padding: 8px; overflow: auto; font-size: 12px; max-height: 28em; }
  h3 { font-size: 14px; margin: 12px 0 2px; }
</style>
</head>
<body>
<header><h1 id="title">sluice API</h1><p id="intro">Loading the description from /openapi.json ...</p></header>
<main>
<input id="filter" type="search" placeholder="Filter routes and fields (e.g. temperature, messages, ignored)" aria-label="Filter">
<div id="ops"></div>
</main>
<script>
'use strict';
let doc = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function resolve(schema) {
  let s = schema || {};
  for (let i = 0; i < 8 && s.$ref; i++) {
    const name = s.$ref.split('/').pop();
    s = (doc.components.schemas || {})[name] || {};
  }
  return s;
}

// A short type for a schema: "integer 1..1048576", "string | array", "enum: a, b".
function typeText(schema) {
  const s = resolve(schema);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map(typeText).join(' | ');
  let t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type || 'any');
  if (t === 'array' && s.items) t = 'array of ' + typeText(s.items);
  if (s.minimum !== undefined || s.maximum !== undefined) {
    t += ' ' + (s.minimum !== undefined ? s.minimum : '') + '..' + (s.maximum !== undefined ? s.maximum : '');
  }
  if (s.maxItems !== undefined) t += ' (at most ' + s.maxItems + ')';
  return t;
}

function schemaName(schema) {
  return schema && schema.$ref ? schema.$ref.split('/').pop() : '';
}

function fieldTable(schema) {
  const s = resolve(schema);
  const required = new Set(s.required || []);
  const table = el('table');
  const head = el('tr');
  for (const h of ['field', 'type', 'policy', 'notes']) head.appendChild(el('th', '', h));
  table.appendChild(head);
  for (const [name, p] of Object.entries(s.properties || {})) {
    const row = el('tr');
    row.dataset.search = (name + ' ' + (p['x-sluice-use'] || '') + ' ' + (p.description || '')).toLowerCase();
    const n = el('td', 'name', name);
    if (required.has(name)) n.appendChild(el('span', 'req', 'required'));
    row.appendChild(n);
    row.appendChild(el('td', 'type', typeText(p)));
    const use = p['x-sluice-use'] || '';
    row.appendChild(el('td', use, use));
    let note = p.description || '';
    if (p['x-sluice-accepted-values'] && p['x-sluice-accepted-values'].length) {
      note += ' [accepted: null, ' + p['x-sluice-accepted-values'].map((v) => JSON.stringify(v)).join(', ') + ']';
    }
    row.appendChild(el('td', '', note));
    table.appendChild(row);
  }
  return table;
}

function schemaBlock(title, schema) {
  const d = el('details');
  d.appendChild(el('summary', 'muted', title));
  d.appendChild(el('pre', '', JSON.stringify(resolve(schema), null, 2)));
  return d;
}

function operation(path, method, op) {
  const d = el('details', 'op');
  const sum = el('summary');
  sum.appendChild(el('span', 'method ' + method, method));
  sum.appendChild(el('span', 'path', path));
  sum.appendChild(el('span', 'muted', op.summary || ''));
  const open = Array.isArray(op.security) && op.security.length === 0;
  sum.appendChild(el('span', 'badge', open ? 'no key' : 'key'));
  for (const t of op.tags || []) sum.appendChild(el('span', 'badge', t));
  d.appendChild(sum);
  const body = el('div', 'body');
  d.dataset.head = (path + ' ' + method + ' ' + (op.summary || '') + ' ' + (op.tags || []).join(' ')).toLowerCase();
  let search = d.dataset.head;
  if (op.parameters && op.parameters.length) {
    body.appendChild(el('h3', '', 'Parameters'));
    const ul = el('ul');
    for (const p of op.parameters) {
      ul.appendChild(el('li', '', p.name + ' (' + p.in + (p.required ? ', required' : '') + ')' + (p.description ? ': ' + p.description : '')));
    }
    body.appendChild(ul);
  }
  const rb = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  if (rb) {
    const s = resolve(rb.schema);
    body.appendChild(el('h3', '', 'Request body: ' + schemaName(rb.schema)));
    if (s.description) body.appendChild(el('p', 'muted', s.description));
    const t = fieldTable(rb.schema);
    search += ' ' + Array.from(t.querySelectorAll('tr')).map((r) => r.dataset.search || '').join(' ');
    body.appendChild(t);
  }
  body.appendChild(el('h3', '', 'Responses'));
  const ul = el('ul');
  for (const [status, r] of Object.entries(op.responses || {})) {
    const types = Object.entries(r.content || {}).map(([type, m]) => type + (schemaName(m.schema) ? ' ' + schemaName(m.schema) : ''));
    const li = el('li', '', status + ': ' + (r.description || '') + (types.length ? ' -- ' + types.join(', ') : ''));
    ul.appendChild(li);
    for (const [type, m] of Object.entries(r.content || {})) {
      if (schemaName(m.schema)) li.appendChild(schemaBlock(schemaName(m.schema) + ' (' + type + ')', m.schema));
    }
  }
  body.appendChild(ul);
  d.appendChild(body);
  d.dataset.search = search;
  return d;
}

function applyFilter() {
  const q = document.getElementById('filter').value.trim().toLowerCase();
  for (const op of document.querySelectorAll('details.op')) {
    const hit = !q || op.dataset.search.includes(q);
    op.style.display = hit ? '' : 'none';
    // A route that matches by itself shows all its fields; else only the matching ones.
    const whole = !q || op.dataset.head.includes(q);
    for (const row of op.querySelectorAll('tr[data-search]')) row.style.display = whole || row.dataset.search.includes(q) ? '' : 'none';
    if (q && hit) op.open = true;
  }
}

async function main() {
  const intro = document.getElementById('intro');
  try {
    const res = await fetch('openapi.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    doc = await res.json();
  } catch (e) {
    intro.textContent = 'Could not load /openapi.json: ' + e.message;
    return;
  }
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version + ' (OpenAPI ' + doc.openapi + ')';
  intro.textContent = doc.info.description || '';
  const ops = document.getElementById('ops');
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) ops.appendChild(operation(path, method, op));
  }
  const schemes = doc.components.securitySchemes || {};
  const keys = Object.entries(schemes).map(([n, s]) => n + ': ' + (s.description || ''));
  ops.appendChild(el('p', 'muted', 'Keys -- ' + keys.join(' ')));
  document.getElementById('filter').addEventListener('input', applyFilter);
}

main();
</script>
</body>
</html>
)html";

// Scripts and styles inline only; fetches to this origin only; nothing else.
constexpr const char* k_csp =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace

response handle_documentation(const exchange& ex, std::string_view endpoint) {
    if (endpoint == "/openapi.json") return json_response(ex, 200, api::openapi_json());
    response res = json_response(ex, 200, std::string(k_page));
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    res.set("Content-Security-Policy", k_csp);
    res.set("X-Content-Type-Options", "nosniff");
    return res;
}

}  // namespace sluice::http::detail
