// Renders /api/openapi.json as a plain reference. Loaded from the same origin (CSP: script-src 'self').
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function schemaText(schema, doc) {
  if (!schema) return "";
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return name + " " + JSON.stringify(doc.components.schemas[name] || {}, null, 2);
  }
  return JSON.stringify(schema, null, 2);
}

async function main() {
  const root = document.getElementById("reference");
  const resp = await fetch("/api/openapi.json");
  const doc = await resp.json();
  root.replaceChildren();
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  for (const [tag, ops] of [...byTag.entries()].sort()) {
    root.append(el("h2", {}, tag));
    for (const { path, method, op } of ops) {
      const details = el("details", {});
      details.append(
        el("summary", {}, el("span", { class: "method " + method }, method.toUpperCase()), el("code", {}, "/api" + path), " ", op.summary || ""),
      );
      if (op["x-roles"]) details.append(el("p", { class: "roles" }, "Roles: " + op["x-roles"].join(", ")));
      for (const p of op.parameters || []) {
        details.append(el("p", {}, el("code", {}, p.name), ` (${p.in}${p.required ? ", required" : ""}) `, p.description || ""));
      }
      const body = op.requestBody && op.requestBody.content["application/json"].schema;
      if (body) details.append(el("p", {}, "Request body:"), el("pre", {}, schemaText(body, doc)));
      for (const [status, r] of Object.entries(op.responses)) {
        details.append(el("p", {}, el("strong", {}, status), " " + r.description));
      }
      root.append(details);
    }
  }
}

main().catch((err) => {
  document.getElementById("reference").textContent = "Could not load the API document: " + err;
});
