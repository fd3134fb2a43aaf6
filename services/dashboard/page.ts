// A small page with no build step: a token form, a search box, a patient table. Script and
// style are served as files (/app.js, /app.css) because the Content-Security-Policy
// (shared/http/security-headers.ts) allows no inline code.
import { Elysia } from "elysia";

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>hookline</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body><header><h1>hookline — patients</h1><button id="token" type="button">API token</button></header>
<main>
<form id="token-form" hidden><label for="token-input">Dashboard API token</label>
<input id="token-input" type="password" autocomplete="off" spellcheck="false">
<button>Use token</button></form>
<form id="search"><input id="q" name="q" placeholder="Search by email, name or phone" autocomplete="off">
<button>Search</button><span id="status"></span></form>
<table><thead><tr><th>Name</th><th>Email</th><th>Phone</th><th>Date of birth</th>
<th>City</th><th>Source</th><th>Submitted</th></tr></thead><tbody id="rows"></tbody></table>
</main></body></html>
`;

const CSS = `body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:12px 20px;display:flex;gap:12px;align-items:center}
header h1{font-size:16px;margin:0;flex:1} main{padding:20px}
form{margin-bottom:12px} form[hidden]{display:none}
input{padding:6px 8px;border:1px solid #c5cad3;border-radius:4px;min-width:280px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6eb} th{background:#eef0f4}
#status{color:#6b7385;margin-left:8px}
`;

const JS = `"use strict";
// The API token lives in this variable only, for the life of the page: never in
// localStorage, sessionStorage or a cookie, where any script on the origin could read it later.
let token = "";
const $ = (id) => document.getElementById(id);
const say = (text) => { $("status").textContent = text; };

function askForToken() {
  token = "";
  $("token-form").hidden = false;
  $("token-input").focus();
}

// Rows are built with textContent: patient data is never parsed as markup.
function row(p) {
  const tr = document.createElement("tr");
  const submitted = new Date(p.submittedAt).toLocaleString();
  for (const value of [p.fullName, p.email, p.phone, p.dateOfBirth, p.city, p.source, submitted]) {
    const td = document.createElement("td");
    td.textContent = value ?? "";
    tr.append(td);
  }
  return tr;
}

async function load() {
  if (!token) { askForToken(); say("enter the API token"); return; }
  const q = $("q").value.trim();
  say("loading…");
  let res, body;
  try {
    // POST: a search term in a URL would reach the access logs of every proxy on the way.
    res = await fetch("/api/v1/patients/search", {
      method: "POST",
      headers: { authorization: "Bearer " + token, "content-type": "application/json" },
      body: JSON.stringify(q ? { q } : {}),
      cache: "no-store",
    });
    body = await res.json();
  } catch {
    say("the dashboard did not answer");
    return;
  }
  if (!res.ok) {
    $("rows").replaceChildren();
    if (res.status === 401) askForToken();
    say(body.error?.message ?? res.statusText);
    return;
  }
  $("rows").replaceChildren(...body.items.map(row));
  say(body.items.length + " shown");
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token-input").value.trim();
  $("token-input").value = "";
  if (!token) return;
  $("token-form").hidden = true;
  load();
});
$("token").addEventListener("click", () => {
  $("rows").replaceChildren();
  say("");
  askForToken();
});
$("search").addEventListener("submit", (e) => { e.preventDefault(); load(); });
askForToken();
`;

const asset = (body: string, contentType: string) => () =>
  new Response(body, { headers: { "content-type": `${contentType}; charset=utf-8` } });

/** The page at `/`, its script and style. */
export function dashboardPage() {
  return (
    new Elysia({ name: "dashboard-page" })
      .get("/", asset(HTML, "text/html"))
      .get("/app.js", asset(JS, "text/javascript"))
      .get("/app.css", asset(CSS, "text/css"))
      // Browsers ask for it unprompted; an empty answer keeps a 404 out of their console.
      .get("/favicon.ico", () => new Response(null, { status: 204 }))
  );
}
