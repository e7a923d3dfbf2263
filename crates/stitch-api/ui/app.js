// Stitch's web UI: a thin client of the /v1 API (no build step, no
// framework). Every write goes through the same validated endpoints the
// CLI uses; errors are shown as the API states them.
"use strict";

const INVENTORY = ["fabrics", "switches", "switch-ports", "hardware", "cards", "node-profiles", "nodes", "port-profiles"];
const READ_ONLY = { "networks": "/v1/networks", "virtual-port-groups": "/v1/virtual-port-groups" };
// Fields shown in lists, per view (the rest is in the editor).
const COLUMNS = {
  "fabrics": ["name", "vni_range", "vlan_range", "vlan_mode"],
  "switches": ["name", "tunnel_ip", "ovsdb", "role", "management_ip"],
  "switch-ports": ["name", "switch_id", "discovered"],
  "hardware": ["name", "model"],
  "cards": ["name", "interface_map"],
  "node-profiles": ["name", "hardware_ids"],
  "nodes": ["name", "type", "aliases", "ports"],
  "port-profiles": ["name", "allowed_frames", "mtu"],
  "networks": ["name", "network_type", "vni", "segmentation_id"],
  "virtual-port-groups": ["name", "vlan", "switch_ports", "port_ids", "in_sync"],
  "status": ["name", "connected", "in_sync", "last_error", "total_ops", "catalog_revision", "applied_revision"],
};
// What a new object starts from.
const TEMPLATES = {
  "fabrics": { name: "dc1", vni_range: [5000, 5999], vlan_range: [100, 3999] },
  "switches": { name: "leaf1", fabric_id: "", ovsdb: "tcp:192.0.2.11:6640", tunnel_ip: "10.0.0.1" },
  "switch-ports": { name: "swp1", switch_id: "" },
  "hardware": { name: "r650" },
  "cards": { name: "x710", hardware_ids: [], interface_map: [{ name: "ens1f0", labels: ["sriov"] }] },
  "node-profiles": { name: "sriov", hardware_ids: [] },
  "nodes": { name: "compute1", node_profile_id: "", ports: [{ name: "ens1f0", switch_id: "", switch_port: "swp1" }] },
  "port-profiles": { name: "tagged", allowed_frames: "tagged_only" },
};
const SERVER_FIELDS = ["id", "created_at", "updated_at", "revision", "in_sync", "connected", "discovered_at"];

const $ = (sel) => document.querySelector(sel);
let view = "status";
let editing = null; // {kind, id|null}
let timer = null;
let loads = 0; // generation of load(): an answer for a view the user has left is dropped

function show(el, on) { el.hidden = !on; }

function error(msg) {
  const e = $("#error");
  e.textContent = msg || "";
  show(e, !!msg);
}

function notice(msg) {
  const n = $("#notice");
  n.textContent = msg || "";
  show(n, !!msg);
}

async function api(method, path, body) {
  const opt = { method, headers: {} };
  if (body !== undefined) {
    opt.headers["content-type"] = "application/json";
    opt.body = body;
  }
  const r = await fetch(path, opt);
  const text = await r.text();
  let v = null;
  try { v = text ? JSON.parse(text) : null; } catch (_) { v = null; }
  if (!r.ok) {
    const e = v && v.error ? v.error : { message: text || r.statusText };
    const where = e.field ? ` (field ${e.field})` : "";
    throw new Error(`${r.status} ${e.code || ""}: ${e.message}${where}`);
  }
  return v;
}

function cell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function render(items, columns) {
  const head = $("#items thead");
  const body = $("#items tbody");
  head.innerHTML = "";
  body.innerHTML = "";
  const tr = document.createElement("tr");
  for (const c of columns) {
    const th = document.createElement("th");
    th.textContent = c;
    tr.appendChild(th);
  }
  head.appendChild(tr);
  for (const it of items) {
    const row = document.createElement("tr");
    row.dataset.id = it.id || it.switch_id || "";
    row.dataset.name = it.name || "";
    for (const c of columns) {
      const td = document.createElement("td");
      td.textContent = cell(it[c]);
      if ((c === "in_sync" || c === "connected") && typeof it[c] === "boolean") td.className = it[c] ? "good" : "bad";
      if (c === "last_error" && it[c]) td.className = "bad";
      row.appendChild(td);
    }
    if (INVENTORY.includes(view)) row.addEventListener("click", () => edit(it));
    body.appendChild(row);
  }
}

async function load() {
  clearTimeout(timer);
  const mine = ++loads;
  const shown = view;
  $("#title").textContent = $(`#nav a[data-view="${view}"]`).textContent;
  show($("#toolbar #new"), INVENTORY.includes(view));
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
  try {
    let items;
    if (view === "status") {
      const v = await api("GET", "/v1/status");
      items = v.switches || [];
    } else {
      const v = await api("GET", READ_ONLY[view] || `/v1/${view}`);
      items = Object.values(v).find(Array.isArray) || [];
    }
    if (mine !== loads) return; // superseded while in flight
    render(items, COLUMNS[shown]);
    $("#items").dataset.view = shown; // what the table holds now
    error("");
  } catch (e) {
    if (mine !== loads) return;
    error(e.message);
  }
  if (shown === "status") timer = setTimeout(load, 2000); // the dashboard follows the switches
}

function edit(obj) {
  editing = { kind: view, id: obj ? obj.id : null };
  const shown = Object.assign({}, obj || TEMPLATES[view]);
  for (const f of SERVER_FIELDS) delete shown[f];
  $("#editor").value = JSON.stringify(shown, null, 2);
  $("#editor-title").textContent = obj ? `Edit ${obj.name || obj.id}` : `New in ${view}`;
  show($("#delete"), !!obj);
  show($("#editor-pane"), true);
  notice("");
}

async function save() {
  const { kind, id } = editing;
  try {
    const text = $("#editor").value;
    try { JSON.parse(text); } catch (e) { throw new Error(`not JSON: ${e.message}`); }
    const saved = id ? await api("PATCH", `/v1/${kind}/${id}`, text) : await api("POST", `/v1/${kind}`, text);
    show($("#editor-pane"), false);
    notice(`saved ${saved.name || saved.id}`);
    error("");
    await load();
  } catch (e) {
    error(e.message);
  }
}

async function remove() {
  const { kind, id } = editing;
  try {
    await api("DELETE", `/v1/${kind}/${id}`);
    show($("#editor-pane"), false);
    notice("deleted");
    error("");
    await load();
  } catch (e) {
    error(e.message);
  }
}

function route() {
  const v = location.hash.replace(/^#/, "");
  view = COLUMNS[v] ? v : "status";
  show($("#editor-pane"), false);
  notice("");
  load();
}

$("#new").addEventListener("click", () => edit(null));
$("#refresh").addEventListener("click", load);
$("#save").addEventListener("click", save);
$("#delete").addEventListener("click", remove);
$("#cancel").addEventListener("click", () => show($("#editor-pane"), false));
window.addEventListener("hashchange", route);
route();
