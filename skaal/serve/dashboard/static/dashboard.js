// The Skaal dashboard: a single page over /_skaal/api/ (no libraries, no CDN).
// Every value from the server is put into the page with textContent, never as HTML.
"use strict";

const API = "/_skaal/api/";
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function money(amount) {
  if (amount === null || amount === undefined) return "-";
  if (amount > 0 && amount < 0.005) return "<$0.01/mo";
  return "$" + amount.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + "/mo";
}

function toast(text, isError) {
  const box = $("toast");
  box.textContent = text;
  box.className = isError ? "toast error" : "toast";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3000);
}

async function api(path, options) {
  const response = await fetch(API + path, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : response.statusText;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return body;
}

// Writes ask first, then send the confirmation header the API requires.
function confirmThen(text, action) {
  $("confirm-text").textContent = text;
  $("confirm").hidden = false;
  const close = () => { $("confirm").hidden = true; $("confirm-yes").onclick = null; };
  $("confirm-no").onclick = close;
  $("confirm-yes").onclick = async () => {
    close();
    try { await action(); } catch (error) { toast(error.message, true); }
  };
}

function write(path, method, body) {
  const headers = { "x-skaal-confirm": "yes" };
  if (body !== undefined) headers["content-type"] = "application/json";
  return api(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

function table(target, headings, rows) {
  const node = $(target) || target;
  node.replaceChildren(el("tr", {}, ...headings.map((h) => el("th", {}, h))), ...rows);
  return node;
}

const enc = encodeURIComponent;
const pretty = (value) => el("pre", {}, JSON.stringify(value, null, 2));

// -- plan ---------------------------------------------------------------------

async function showPlan() {
  const overview = await api("overview");
  const select = $("compare");
  if (select.options.length === 1) {
    for (const name of overview.catalogs) {
      if (name !== overview.catalog) select.append(el("option", { value: name }, name));
    }
    select.addEventListener("change", () => showPlan().catch((e) => toast(e.message, true)));
  }
  $("graph-served").src = API + "plan/graph.svg";
  const served = await api("plan");
  const other = select.value ? await api("plan?catalog=" + enc(select.value)) : null;
  $("plan-other").hidden = !other;
  let totals = "served: " + money(served.plan.total_monthly_cost);
  if (other) {
    $("graph-other").src = API + "plan/graph.svg?catalog=" + enc(select.value);
    $("other-caption").textContent = select.value;
    totals += " · " + select.value + ": " + money(other.plan.total_monthly_cost);
  }
  $("plan-totals").textContent = totals;
  const others = new Map((other ? other.graph.nodes : []).map((n) => [n.id, n]));
  const rows = served.graph.nodes.filter((n) => n.kind !== "trigger").map((n) => {
    const o = others.get(n.id);
    return el("tr", { class: n.defaulted ? "defaulted" : "", "data-node": n.id },
      el("td", {}, n.label, n.defaulted ? el("span", { class: "tag", title: money(n.assumed_monthly) + " of it rests on defaults" },
          "defaults: " + n.defaults.join(", ")) : null,
        n.status === "pinned" ? el("span", { class: "tag" }, "pinned") : null),
      el("td", {}, n.kind), el("td", {}, n.backend || "-"), el("td", {}, n.region || "-"),
      el("td", { class: "num" }, money(n.monthly_cost)),
      el("td", {}, o ? o.backend + " · " + money(o.monthly_cost) : ""));
  });
  table("plan-nodes", ["name", "kind", "backend", "region", "monthly", other ? select.value : ""], rows);
}

// -- data ---------------------------------------------------------------------

let current = null;

async function showData() {
  const resources = await api("resources");
  $("resources").replaceChildren(...resources.map((r) => el("li", {},
    el("a", { href: "#data/" + r.kind + "/" + r.name, "data-resource": r.name },
      r.name, el("span", { class: "kind" }, r.kind + " · " + r.backend)))));
  const [, kind, name] = location.hash.split("/");
  if (kind && name) await openResource(kind, decodeURIComponent(name));
}

async function openResource(kind, name) {
  current = { kind, name };
  for (const a of document.querySelectorAll("#resources a")) {
    a.classList.toggle("active", a.dataset.resource === name);
  }
  const panel = $("resource");
  panel.replaceChildren(el("h2", {}, name + " (" + kind + ")"));
  const views = { map: mapView, collection: collectionView, blob: blobView, queue: queueView, topic: topicView };
  await views[kind](panel, name);
}

function pager(panel, cursor, load) {
  if (cursor) panel.append(el("button", { type: "button", id: "next-page", onclick: () => load(cursor) }, "Next page"));
}

function editor(initial, onSave) {
  const area = el("textarea", {}, JSON.stringify(initial, null, 2));
  const box = el("div", { class: "editor" }, area,
    el("button", { type: "button", class: "danger", onclick: () => {
      let value;
      try { value = JSON.parse(area.value); } catch (error) { toast("not JSON: " + error.message, true); return; }
      onSave(value);
    } }, "Save…"));
  return box;
}

async function mapView(panel, name, cursor) {
  const prefix = el("input", { id: "search", placeholder: "key prefix" });
  const results = el("table", { class: "grid", id: "items" });
  const load = async (at) => {
    const page = await api("maps/" + enc(name) + "?prefix=" + enc(prefix.value) + (at ? "&cursor=" + enc(at) : ""));
    table(results, ["key", "value", ""], page.items.map((item) => el("tr", {},
      el("td", {}, item.key), el("td", {}, pretty(item.value)),
      el("td", {},
        el("button", { type: "button", onclick: (event) => {
          event.target.replaceWith(editor(item.value, (value) => confirmThen(
            "Write " + name + "[" + item.key + "]?", async () => {
              await write("maps/" + enc(name) + "/" + enc(item.key), "PUT", { value });
              toast("saved"); await load(at);
            })));
        } }, "Edit"),
        el("button", { type: "button", class: "danger", onclick: () => confirmThen(
          "Delete " + name + "[" + item.key + "]?", async () => {
            await write("maps/" + enc(name) + "/" + enc(item.key), "DELETE");
            toast("deleted"); await load(at);
          }) }, "Delete")))));
    panel.querySelector("#next-page")?.remove();
    pager(panel, page.cursor, load);
  };
  prefix.addEventListener("change", () => load());
  const newKey = el("input", { id: "new-key", placeholder: "new key" });
  panel.append(el("div", { class: "toolbar" }, prefix,
    el("button", { type: "button", onclick: () => load() }, "Search"), newKey,
    el("button", { type: "button", onclick: () => {
      if (!newKey.value) { toast("type a key first", true); return; }
      panel.append(editor(null, (value) => confirmThen("Write " + name + "[" + newKey.value + "]?", async () => {
        await write("maps/" + enc(name) + "/" + enc(newKey.value), "PUT", { value });
        toast("saved"); await load();
      })));
    } }, "New entry…")), results);
  await load(cursor);
}

async function collectionView(panel, name) {
  const field = el("select", { id: "field" }, el("option", { value: "" }, "(all)"));
  const value = el("input", { id: "search", placeholder: "value" });
  const results = el("table", { class: "grid", id: "items" });
  const load = async (at) => {
    let query = "collections/" + enc(name) + "?limit=25";
    if (field.value) query += "&field=" + enc(field.value) + "&value=" + enc(value.value);
    if (at) query += "&cursor=" + enc(at);
    const page = await api(query);
    if (field.options.length === 1) for (const f of page.indexes) field.append(el("option", { value: f }, f));
    table(results, [page.key_field, "document", ""], page.items.map((item) => el("tr", {},
      el("td", {}, item.key), el("td", {}, pretty(item.document)),
      el("td", {},
        el("button", { type: "button", onclick: (event) => {
          event.target.replaceWith(editor(item.document, (document) => confirmThen(
            "Replace " + item.key + " in " + name + "?", async () => {
              await write("collections/" + enc(name), "PUT", { document });
              toast("saved"); await load(at);
            })));
        } }, "Edit"),
        el("button", { type: "button", class: "danger", onclick: () => confirmThen(
          "Delete " + item.key + " from " + name + "?", async () => {
            await write("collections/" + enc(name) + "/" + enc(item.key), "DELETE");
            toast("deleted"); await load(at);
          }) }, "Delete")))));
    panel.querySelector("#next-page")?.remove();
    pager(panel, page.cursor, load);
  };
  panel.append(el("div", { class: "toolbar" }, field, value,
    el("button", { type: "button", onclick: () => load() }, "Search"),
    el("button", { type: "button", onclick: () => panel.append(editor({}, (document) => confirmThen(
      "Add this document to " + name + "?", async () => {
        await write("collections/" + enc(name), "PUT", { document });
        toast("saved"); await load();
      }))) }, "New document…")), results);
  await load();
}

async function blobView(panel, name) {
  const prefix = el("input", { id: "search", placeholder: "key prefix" });
  const results = el("table", { class: "grid", id: "items" });
  const load = async (at) => {
    const page = await api("blobs/" + enc(name) + "?prefix=" + enc(prefix.value) + (at ? "&cursor=" + enc(at) : ""));
    table(results, ["key", "size", "type", "modified", ""], page.items.map((b) => el("tr", {},
      el("td", {}, b.key), el("td", { class: "num" }, b.size.toLocaleString("en-US") + " B"),
      el("td", {}, b.content_type), el("td", {}, new Date(b.modified * 1000).toISOString()),
      el("td", {}, el("a", { href: API + "blobs/" + enc(name) + "/content/" + b.key.split("/").map(enc).join("/"),
        download: b.key.split("/").pop() }, "Download")))));
    panel.querySelector("#next-page")?.remove();
    pager(panel, page.cursor, load);
  };
  panel.append(el("div", { class: "toolbar" }, prefix, el("button", { type: "button", onclick: () => load() }, "Search")), results);
  await load();
}

async function queueView(panel, name) {
  const queues = await api("queues");
  const q = queues.find((x) => x.name === name);
  panel.append(el("p", { id: "queue-stats" },
    "depth " + (q.depth === null ? "unknown" : q.depth) + " · in flight " + q.in_flight +
    " · dead letters " + q.dead_letters + " · consumers " + (q.consumers.map((c) => c.name).join(", ") || "none")));
  const letters = await api("queues/" + enc(name) + "/dead");
  panel.append(el("h2", {}, "Dead letters"));
  panel.append(table(el("table", { class: "grid", id: "dead" }), ["id", "body", "attempts", "error", ""],
    letters.map((d) => el("tr", { "data-dead": d.id },
      el("td", {}, d.id), el("td", {}, pretty(d.body)), el("td", { class: "num" }, d.attempts),
      el("td", {}, d.error),
      el("td", {}, q.redrive
        ? el("button", { type: "button", class: "redrive", onclick: () => confirmThen(
          "Put dead letter " + d.id + " back on " + name + "?", async () => {
            const done = await write("queues/" + enc(name) + "/dead/" + enc(d.id) + "/redrive", "POST");
            toast("redriven as " + done.id); await openResource("queue", name);
          }) }, "Redrive")
        : el("span", { class: "muted" }, "redrive not supported by " + q.backend))))));
}

async function topicView(panel, name) {
  const topics = await api("topics");
  const t = topics.find((x) => x.name === name);
  panel.append(table(el("table", { class: "grid", id: "subscribers" }), ["subscriber", "running", "delivered", "failed", "in flight", "lag"],
    t.subscribers.map((s) => el("tr", {}, el("td", {}, s.name), el("td", {}, s.running ? "yes" : "no"),
      el("td", { class: "num" }, s.delivered), el("td", { class: "num" }, s.failed),
      el("td", { class: "num" }, s.in_flight), el("td", { class: "num" }, s.lag === null ? "unknown" : s.lag)))));
}

// -- schedules ----------------------------------------------------------------

async function showSchedules() {
  const schedules = await api("schedules");
  table("schedules", ["name", "schedule", "next runs", "last run", ""], schedules.map((s) => el("tr", { "data-schedule": s.name },
    el("td", {}, s.name), el("td", {}, s.schedule),
    el("td", {}, s.next_runs.map((t) => new Date(t).toISOString().replace(".000", "")).join("\n")),
    el("td", { class: "last-run" }, s.running ? "running…" : s.last === null ? "never"
      : (s.last.error ? "failed: " + s.last.error : "ok") + " at " + s.last.started.slice(0, 19) +
        (s.last.seconds === null ? "" : " (" + (s.last.seconds * 1000).toFixed(0) + " ms)") + (s.last.manual ? ", run now" : "")),
    el("td", {}, el("button", { type: "button", class: "run-now", onclick: () => confirmThen("Run " + s.name + " now?", async () => {
      await write("schedules/" + enc(s.name) + "/run", "POST");
      toast("started " + s.name);
      setTimeout(() => showSchedules().catch((e) => toast(e.message, true)), 400);
    }) }, "Run now")))));
  const queues = await api("queues");
  const topics = await api("topics");
  const rows = [];
  for (const q of queues) for (const c of q.consumers) {
    rows.push(el("tr", {}, el("td", {}, c.name), el("td", {}, "queue " + q.name),
      el("td", { class: "num" }, c.in_flight), el("td", {}, c.acked + " ok, " + c.retried + " retried, " + c.dead + " dead")));
  }
  for (const t of topics) for (const s of t.subscribers) {
    rows.push(el("tr", {}, el("td", {}, s.name), el("td", {}, "topic " + t.name),
      el("td", { class: "num" }, s.in_flight), el("td", {}, s.delivered + " ok, " + s.failed + " failed")));
  }
  table("consumers", ["function", "reads", "in flight", "handled"], rows);
}

// -- requests -----------------------------------------------------------------

async function showRequests() {
  const answer = await api("requests?limit=100");
  $("requests-note").textContent = answer.enabled ? answer.requests.length + " latest calls"
    : "tracing is off (install skaal[telemetry] for the requests view)";
  const rows = [];
  for (const r of answer.requests) {
    const bad = r.error || (typeof r.status === "number" && r.status >= 400);
    const ops = el("tr", { class: "ops", hidden: "" }, el("td", { colspan: "6" },
      r.operations.length === 0 ? el("span", { class: "muted" }, "no storage or queue operations")
        : table(el("table", { class: "grid" }), ["+ms", "operation", "resource", "backend", "ms", "bytes", "retries", "error"],
          r.operations.map((o) => el("tr", {}, el("td", { class: "num" }, o.offset_ms), el("td", {}, o.operation),
            el("td", {}, o.resource), el("td", {}, o.backend), el("td", { class: "num" }, o.ms),
            el("td", { class: "num" }, o.bytes), el("td", { class: "num" }, o.retries), el("td", {}, o.error || ""))))));
    rows.push(el("tr", { class: "request", "data-function": r.function, onclick: () => { ops.hidden = !ops.hidden; } },
      el("td", {}, new Date(r.started * 1000).toISOString().slice(11, 23)),
      el("td", {}, r.trigger), el("td", {}, r.function),
      el("td", {}, String(r.status), bad ? el("span", { class: "tag bad" }, "error") : null),
      el("td", { class: "num" }, r.ms + " ms"),
      el("td", { class: "num" }, r.operations.length + " ops")), ops);
  }
  table("requests", ["time", "trigger", "function", "status", "latency", "storage"], rows);
}

// -- routing ------------------------------------------------------------------

const VIEWS = { plan: showPlan, data: showData, schedules: showSchedules, requests: showRequests };

async function route() {
  const view = (location.hash.slice(1).split("/")[0]) || "plan";
  const show = VIEWS[view] || showPlan;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== "view-" + view;
  for (const a of document.querySelectorAll("nav a[data-view]")) a.classList.toggle("active", a.dataset.view === view);
  document.body.dataset.view = view;
  document.body.dataset.ready = "";
  try { await show(); } catch (error) { toast(error.message, true); }
  document.body.dataset.ready = view;
}

async function start() {
  const overview = await api("overview");
  $("app-title").textContent = overview.app;
  $("app-summary").textContent = overview.provider + " · " + overview.catalog + " · " + money(overview.total_monthly_cost);
  document.title = overview.app + " · Skaal";
  $("requests-refresh").addEventListener("click", () => showRequests().catch((e) => toast(e.message, true)));
  window.addEventListener("hashchange", route);
  await route();
}

start().catch((error) => toast(error.message, true));
