// The dashboard page at `/`: this HTML plus one script and one style sheet that Bun's bundler
// builds from services/dashboard/web (web/build.ts, imported as a macro: built when this module
// is transpiled, embedded in the compiled executable). Script and style are served as files
// because the Content-Security-Policy (shared/http/security-headers.ts) allows no inline code;
// the page holds no secret, and the API token typed in (or received from the OIDC provider)
// stays in the script's memory.
import { Elysia } from "elysia";
import { SECURITY_HEADERS } from "../../shared/http/security-headers.ts";
import type { PageOidcConfig } from "./oidc-signin.ts";
import { bundlePage } from "./web/build.ts" with { type: "macro" };

const ASSETS = bundlePage();

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>hookline</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <h1>hookline</h1>
  <nav aria-label="Sections"><ul>
    <li><a id="nav-patients" href="#patients">Patients</a></li>
    <li><a id="nav-stats" href="#stats">Stats</a></li>
    <li><a id="nav-sources" href="#sources">Sources</a></li>
    <li><a id="nav-dead-letters" href="#dead-letters">Dead letters</a></li>
    <li><a id="nav-forms" href="#forms">Forms</a></li>
  </ul></nav>
  <span class="spacer"></span>
  <span id="who" class="who" hidden></span>
  <button id="add-client" type="button" class="primary">Add New Client</button>
  <button id="sign-out" type="button">Sign out</button>
</header>
<main id="main" tabindex="-1">
<section id="signin" aria-labelledby="signin-title" hidden>
  <h2 id="signin-title">Sign in</h2>
  <div id="oidc-signin" hidden>
    <button id="oidc-button" type="button" class="primary">Sign in</button>
    <p class="hint">Or sign in with a dashboard API token:</p>
  </div>
  <form id="token-form">
    <label for="token-input">Dashboard API token</label>
    <input id="token-input" type="password" autocomplete="off" spellcheck="false" aria-describedby="token-hint signin-error">
    <p id="token-hint" class="hint">A token from <code>hookline tokens create</code>, or a sign-in token (JWT) from the identity provider where single sign-on is configured. It is kept in this tab's memory only.</p>
    <p id="signin-error" class="error" role="alert"></p>
    <button class="primary">Sign in</button>
  </form>
</section>
<div id="app" hidden>
<section id="view-patients" aria-labelledby="patients-title">
  <h2 id="patients-title" tabindex="-1">Patients</h2>
  <form id="search" role="search" class="toolbar">
    <div class="field grow"><label for="q">Search patients</label>
      <input id="q" name="q" type="search" placeholder="Name, email, phone or city" autocomplete="off" aria-describedby="status"></div>
    <div class="field"><label for="filter-client">Client</label><select id="filter-client"><option value="">All clients</option></select></div>
    <div class="field"><label for="filter-source">Source</label><select id="filter-source"><option value="">All sources</option></select></div>
    <div class="field"><label for="filter-form">Form</label><select id="filter-form"><option value="">All forms</option></select></div>
    <div class="field"><label for="filter-from">Submitted from</label><input id="filter-from" type="date"></div>
    <div class="field"><label for="filter-to">Submitted to</label><input id="filter-to" type="date"></div>
    <div class="field"><label for="filter-sort">Sort by</label><select id="filter-sort">
      <option value="">Newest first</option><option value="updated:desc">Recently updated</option>
      <option value="submitted:desc">Last submitted</option><option value="name:asc">Last name</option></select></div>
  </form>
  <p id="status" class="status" aria-live="off"></p>
  <div class="table-wrap"><table aria-labelledby="patients-title">
    <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Phone</th><th scope="col">Date of birth</th>
    <th scope="col">City</th><th scope="col">Source</th><th scope="col">Submitted</th></tr></thead>
    <tbody id="rows"></tbody></table></div>
  <div class="pager"><button id="prev-page" type="button" disabled>Previous page</button>
    <button id="next-page" type="button" disabled>Next page</button></div>
</section>
<section id="view-stats" aria-labelledby="stats-title" hidden>
  <h2 id="stats-title" tabindex="-1">Stats</h2>
  <div class="toolbar"><div class="field"><label for="stats-days">Period</label><select id="stats-days">
    <option value="7">Last 7 days</option><option value="30" selected>Last 30 days</option><option value="90">Last 90 days</option>
    <option value="365">Last year</option></select></div></div>
  <p id="stats-status" class="status"></p>
  <div class="cards">
    <div class="card"><span class="value" id="stat-events">–</span>submissions in the period</div>
    <div class="card"><span class="value" id="stat-patients">–</span>patients</div>
    <div class="card"><span class="value" id="stat-dead">–</span>dead letters</div>
  </div>
  <div class="charts"><figure class="chart" id="chart-per-day" aria-label="Chart: submissions per day"></figure>
    <figure class="chart" id="chart-per-source" aria-label="Chart: submissions per day by source"></figure></div>
  <div class="split">
    <div class="table-wrap"><table><caption class="sr-only">Submissions by client</caption>
      <thead><tr><th scope="col">Client</th><th scope="col" class="num">Submissions</th></tr></thead><tbody id="stats-clients"></tbody></table></div>
    <div class="table-wrap"><table><caption class="sr-only">Submissions and last event by source</caption>
      <thead><tr><th scope="col">Source</th><th scope="col">Client</th><th scope="col" class="num">Submissions</th><th scope="col">Last event</th></tr></thead>
      <tbody id="stats-sources"></tbody></table></div>
    <div class="table-wrap"><table><caption class="sr-only">Submissions by form</caption>
      <thead><tr><th scope="col">Form</th><th scope="col">Source</th><th scope="col" class="num">Submissions</th></tr></thead>
      <tbody id="stats-forms"></tbody></table></div>
  </div>
</section>
<section id="view-sources" aria-labelledby="sources-title" hidden>
  <h2 id="sources-title" tabindex="-1">Sources</h2>
  <p id="sources-status" class="status"></p>
  <div class="table-wrap"><table aria-labelledby="sources-title">
    <thead><tr><th scope="col">Source</th><th scope="col">Form tool</th><th scope="col">Client</th><th scope="col">Defined in</th>
    <th scope="col">State</th><th scope="col">Last event</th><th scope="col" class="num">Events (24 h)</th><th scope="col" class="num">Errors (24 h)</th></tr></thead>
    <tbody id="sources-rows"></tbody></table></div>
</section>
<section id="view-dead-letters" aria-labelledby="dlq-title" hidden>
  <h2 id="dlq-title" tabindex="-1">Dead letters</h2>
  <p class="hint">Webhooks that were received but could not be stored, with the reason. Replay sends one through the pipeline again.</p>
  <p id="dlq-status" class="status"></p>
  <div class="table-wrap"><table aria-labelledby="dlq-title">
    <thead><tr><th scope="col" class="num">Id</th><th scope="col">Stored</th><th scope="col">Source</th><th scope="col">Code</th>
    <th scope="col">Reason</th><th scope="col">Event</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
    <tbody id="dlq-rows"></tbody></table></div>
  <div class="pager"><button id="dlq-more" type="button" hidden>Load more</button></div>
</section>
<section id="view-forms" aria-labelledby="forms-title" hidden>
  <h2 id="forms-title" tabindex="-1">Forms</h2>
  <p class="hint">Where each form's fields go in a patient record: review the fields no rule maps, correct a field's target, preview the effect on recent events, save.</p>
  <div class="toolbar"><div class="field"><label for="forms-pick">Form</label><select id="forms-pick"></select></div></div>
  <p id="forms-status" class="status" tabindex="-1"></p>
  <div id="forms-detail"></div>
</section>
</div>
</main>
<dialog id="drawer" class="drawer" aria-labelledby="drawer-title">
  <div class="dialog-head"><h2 id="drawer-title">Patient</h2><button id="drawer-close" type="button">Close</button></div>
  <div class="dialog-body" id="drawer-body"></div>
</dialog>
<dialog id="client-dialog" aria-labelledby="client-title">
  <div class="dialog-head"><h2 id="client-title">Add New Client</h2><button id="client-cancel" type="button">Close</button></div>
  <div class="dialog-body">
  <form id="client-form" novalidate>
    <div class="field"><label for="client-name">Client name</label>
      <input id="client-name" name="name" autocomplete="off" required maxlength="200" aria-describedby="client-name-error">
      <p id="client-name-error" class="error"></p></div>
    <div class="field"><label for="client-sourceType">Form tool</label>
      <select id="client-sourceType" name="sourceType" required aria-describedby="client-sourceType-error"></select>
      <p id="client-sourceType-error" class="error"></p></div>
    <div class="field"><label for="client-sourceName">Source name (optional)</label>
      <input id="client-sourceName" name="sourceName" autocomplete="off" spellcheck="false" aria-describedby="client-sourceName-hint client-sourceName-error">
      <p id="client-sourceName-hint" class="hint">Part of the webhook URL. Left empty, one is made from the client's name.</p>
      <p id="client-sourceName-error" class="error"></p></div>
    <p id="client-form-error" class="error" role="alert"></p>
    <div class="actions"><button id="client-submit" class="primary">Add client</button></div>
  </form>
  <div id="client-result" hidden></div>
  </div>
</dialog>
<div id="live" class="sr-only" aria-live="polite"></div>
</body></html>
`;

const asset = (body: string, contentType: string) => () =>
  new Response(body, { headers: { "content-type": `${contentType}; charset=utf-8` } });

const BASE_CSP = SECURITY_HEADERS["content-security-policy"]!;

/**
 * The page's CSP: the common one, and with OIDC sign-in configured, connect-src also allows the
 * provider's token endpoint (that one URL, where the page trades the code for tokens), nothing else.
 */
export function pageCsp(oidc: PageOidcConfig | null): string {
  return oidc ? `${BASE_CSP}; connect-src 'self' ${oidc.tokenEndpoint}` : BASE_CSP;
}

/** The page at `/`, its script and style; `oidc`: the page's sign-in settings (oidc-signin.ts). */
export function dashboardPage(oidc: () => Promise<PageOidcConfig | null> = async () => null) {
  return (
    new Elysia({ name: "dashboard-page" })
      .get("/", async () => {
        // A provider that cannot be reached leaves the page on the common CSP: token sign-in still works.
        const config = await oidc().catch(() => null);
        return new Response(HTML, {
          headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": pageCsp(config) },
        });
      })
      .get("/app.js", asset(ASSETS.js, "text/javascript"))
      .get("/app.css", asset(ASSETS.css, "text/css"))
      // Browsers ask for it unprompted; an empty answer keeps a 404 out of their console.
      .get("/favicon.ico", () => new Response(null, { status: 204 }))
  );
}
