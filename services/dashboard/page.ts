// A small self-contained page: token prompt, search box, patient table. No build step.
export function indexPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>hookline</title>
<style>
 body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
 header{background:#1d2330;color:#fff;padding:12px 20px;display:flex;gap:12px;align-items:center}
 header h1{font-size:16px;margin:0;flex:1} main{padding:20px}
 input{padding:6px 8px;border:1px solid #c5cad3;border-radius:4px;min-width:280px}
 table{border-collapse:collapse;width:100%;background:#fff;margin-top:12px}
 th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6eb} th{background:#eef0f4}
 #status{color:#6b7385;margin-left:8px}
</style></head>
<body><header><h1>hookline — patients</h1><button id="token">API token</button></header>
<main><form id="search"><input id="q" name="q" placeholder="Search by email, name or phone" autocomplete="off"> <button>Search</button><span id="status"></span></form>
<table><thead><tr><th>Name</th><th>Email</th><th>Phone</th><th>Date of birth</th><th>City</th><th>Source</th><th>Submitted</th></tr></thead><tbody id="rows"></tbody></table></main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
function token(){ let t = localStorage.getItem("hookline-token"); if(!t){ t = prompt("Dashboard API token"); if(t) localStorage.setItem("hookline-token", t);} return t; }
$("token").onclick = () => { localStorage.removeItem("hookline-token"); load(); };
async function load(){
  const q = $("q").value.trim();
  $("status").textContent = "loading…";
  const res = await fetch("/api/v1/patients" + (q ? "?q=" + encodeURIComponent(q) : ""), { headers: { authorization: "Bearer " + token() } });
  const body = await res.json();
  if(!res.ok){ $("status").textContent = body.error?.message ?? res.statusText; return; }
  $("rows").innerHTML = body.items.map((p) => "<tr><td>" + esc(p.fullName) + "</td><td>" + esc(p.email) + "</td><td>" + esc(p.phone) + "</td><td>" + esc(p.dateOfBirth) + "</td><td>" + esc(p.city) + "</td><td>" + esc(p.source) + "</td><td>" + esc(new Date(p.submittedAt).toLocaleString()) + "</td></tr>").join("");
  $("status").textContent = body.items.length + " shown";
}
$("search").onsubmit = (e) => { e.preventDefault(); load(); };
load();
</script></body></html>`;
}
