"""The interactive docs page served at ``/docs``.

A single self-contained HTML page (no external scripts, fonts or styles, so
it works offline): it fetches ``/openapi.json``, lists every operation with
its summary and an example request body built from the schema, and lets the
user edit the body and send it with ``fetch``, showing the status and the
JSON response.  All text from the document is inserted with
``textContent``, never as HTML.
"""

from __future__ import annotations

import html

__all__ = ["docs_html"]

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__ - API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 24px}
header h1{font-size:19px;margin:0}
header p{margin:4px 0 0;opacity:.75;font-size:13px}
main{max-width:980px;margin:0 auto;padding:16px 24px}
details{background:#fff;border:1px solid #d9dde4;border-radius:6px;margin:10px 0}
summary{cursor:pointer;padding:10px 14px;display:flex;gap:10px;align-items:center}
.m{font:600 12px monospace;padding:2px 7px;border-radius:4px;color:#fff;background:#2f6fdb}
.m.get{background:#2c9a5b}
.path{font-family:monospace;font-weight:600}
.sum{color:#5b6475}
.body{padding:0 14px 14px}
textarea{width:100%;box-sizing:border-box;min-height:90px;font:13px monospace}
pre{background:#f0f2f5;padding:10px;border-radius:4px;overflow:auto;font-size:13px}
button{background:#2f6fdb;color:#fff;border:0;border-radius:4px;padding:6px 14px;cursor:pointer}
.status{font-weight:600;margin-left:10px}
.err{color:#b42318}
</style>
</head>
<body>
<header><h1>__TITLE__</h1><p>Functions served by skaal run -
<a style="color:#9cc3ff" href="__SPEC__">OpenAPI document</a></p></header>
<main id="ops"><p>Loading...</p></main>
<script>
"use strict";
const SPEC = "__SPEC__";
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
// Docstring text with `code spans`, nothing else interpreted (textContent
// only, so a docstring cannot inject markup).
function prose(tag, cls, text) {
  const node = el(tag, cls);
  text.split("`").forEach((part, i) => node.append(i % 2 ? el("code", "", part) : part));
  return node;
}
function resolve(schema, spec) {
  if (schema && schema.$ref) {
    return resolve(spec.components.schemas[schema.$ref.split("/").pop()], spec);
  }
  return schema || {};
}
function example(schema, spec, depth) {
  schema = resolve(schema, spec);
  if (depth > 4) return null;
  if ("default" in schema) return schema.default;
  if (schema.examples) return schema.examples[0];
  if (schema.anyOf) return example(schema.anyOf[0], spec, depth + 1);
  switch (schema.type) {
    case "object": {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties || {})) {
        out[k] = example(v, spec, depth + 1);
      }
      return out;
    }
    case "array": return [];
    case "string": return "";
    case "integer": case "number": return 0;
    case "boolean": return false;
    default: return null;
  }
}
function operation(path, method, op, spec) {
  const box = el("details");
  const head = el("summary");
  head.append(el("span", "m " + method, method.toUpperCase()), el("span", "path", path),
              prose("span", "sum", op.summary || ""));
  const body = el("div", "body");
  for (const para of (op.description || "").split(/\\n\\s*\\n/)) {
    if (para.trim()) body.append(prose("p", "", para));
  }
  let input = null;
  if (method === "post") {
    const schema = op.requestBody.content["application/json"].schema;
    input = el("textarea");
    input.value = JSON.stringify(example(schema, spec, 0), null, 2);
    input.setAttribute("aria-label", "request body for " + path);
    body.append(el("p", "", "Request body (JSON):"), input);
  }
  const send = el("button", "", "Send");
  const status = el("span", "status");
  const out = el("pre");
  out.hidden = true;
  send.addEventListener("click", async () => {
    status.textContent = "...";
    status.className = "status";
    try {
      const init = {method: method.toUpperCase(), headers: {"accept": "application/json"}};
      if (input) {
        init.body = input.value;
        init.headers["content-type"] = "application/json";
      }
      const response = await fetch(path, init);
      const text = await response.text();
      status.textContent = response.status + " " + response.statusText;
      if (!response.ok) status.className = "status err";
      try { out.textContent = JSON.stringify(JSON.parse(text), null, 2); }
      catch (e) { out.textContent = text; }
    } catch (e) {
      status.textContent = "request failed: " + e;
      status.className = "status err";
    }
    out.hidden = false;
  });
  body.append(send, status, out);
  box.append(head, body);
  return box;
}
async function main() {
  const root = document.getElementById("ops");
  try {
    const spec = await (await fetch(SPEC)).json();
    root.textContent = "";
    const entries = Object.entries(spec.paths || {});
    if (!entries.length) root.append(el("p", "", "This app serves no functions."));
    for (const [path, item] of entries) {
      for (const method of ["get", "post"]) {
        if (item[method]) root.append(operation(path, method, item[method], spec));
      }
    }
    for (const mount of spec["x-skaal-mounts"] || []) {
      const p = el("p", "", "Mounted application: ");
      const a = el("a", "", mount + "/");
      a.href = mount + "/";
      p.append(a);
      root.append(p);
    }
  } catch (e) {
    root.textContent = "";
    root.append(el("p", "err", "Could not load " + SPEC + ": " + e));
  }
}
main();
</script>
</body>
</html>
"""


def docs_html(*, title: str, spec_url: str = "/openapi.json") -> str:
    """The docs page for an app called ``title``."""
    safe_title = html.escape(title)
    return _PAGE.replace("__TITLE__", safe_title).replace("__SPEC__", html.escape(spec_url))
