// The dashboard page: sign-in with a token or, where configured, at the OIDC provider (oidc.ts),
// then five views chosen by the URL's hash
// (#patients, #stats, #sources, #dead-letters, #forms) and the Add New Client dialog.
import "./style.css";
import { type ApiError, api, signedIn, signIn, signOut, whenUnauthorized } from "./api.ts";
import { clientModal } from "./client-modal.ts";
import { deadLettersView } from "./dead-letters-view.ts";
import { announce, byId } from "./dom.ts";
import { formsView } from "./forms-view.ts";
import {
  beginSignIn,
  finishSignIn,
  loadOidcConfig,
  type OidcConfig,
  returningFromProvider,
  signOutAtProvider,
} from "./oidc.ts";
import { patientsView } from "./patients-view.ts";
import { sourcesView } from "./sources-view.ts";
import { statsView } from "./stats-view.ts";

const VIEWS = ["patients", "stats", "sources", "dead-letters", "forms"] as const;
type View = (typeof VIEWS)[number];

const patients = patientsView();
const views: Record<View, { show(): void }> = {
  patients,
  stats: statsView(),
  sources: sourcesView(),
  "dead-letters": deadLettersView(),
  forms: formsView(),
};
const modal = clientModal(() => void patients.refreshFilters());
/** A sign-in at the provider: its settings and ID token (memory only), for the sign-out there. */
let providerSession: { config: OidcConfig; idToken: string } | null = null;

const current = (): View => {
  const name = location.hash.slice(1);
  return (VIEWS as readonly string[]).includes(name) ? (name as View) : "patients";
};

function show(view: View, focus = false): void {
  for (const v of VIEWS) {
    byId(`view-${v}`).hidden = v !== view;
    const link = byId(`nav-${v}`);
    if (v === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  views[view].show();
  // After a navigation, the view's heading: where a screen reader user expects to be.
  if (focus) byId(`view-${view}`).querySelector<HTMLElement>("h2")?.focus();
}

function askForToken(message?: string): void {
  byId("app").hidden = true;
  byId("who").hidden = true;
  byId("signin").hidden = false;
  byId("signin-error").textContent = message ?? "";
  byId<HTMLInputElement>("token-input").focus();
}

whenUnauthorized(() => askForToken("The token was not accepted. Enter a valid token."));

byId("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = byId<HTMLInputElement>("token-input");
  const token = input.value.trim();
  input.value = "";
  if (!token) {
    byId("signin-error").textContent = "Enter a token.";
    input.focus();
    return;
  }
  signIn(token);
  providerSession = null;
  enter();
  void showWho().catch(() => {});
});

function enter(): void {
  byId("signin").hidden = true;
  byId("app").hidden = false;
  announce("Signed in");
  void patients.refreshFilters();
  show(current());
  byId<HTMLInputElement>("q").focus();
}

/** Names the caller and role in the header; an ApiError (403: no role) when the API refuses the token. */
async function showWho(): Promise<void> {
  const me = await api<{ name: string; role: string }>("GET", "/api/v1/auth/me");
  const who = byId("who");
  who.textContent = `Signed in as ${me.name} (${me.role})`;
  who.hidden = false;
  // Adding a client is an admin's (the API refuses anyone else): not offered to the others.
  byId("add-client").hidden = me.role !== "admin";
}

/** Back from the provider: the token it sent is used only once the API accepted it with a role. */
async function completeOidc(config: OidcConfig): Promise<void> {
  const result = await finishSignIn(config);
  if (!result.ok) return askForToken(result.message);
  signIn(result.token);
  try {
    await showWho();
  } catch (error) {
    // Not let in: the provider's session is left as it is (signing in there worked).
    signOut();
    const e = error as ApiError;
    // 401 already asked again (whenUnauthorized); say why in the provider's terms.
    return askForToken(
      e.status === 403
        ? `Signed in at ${config.providerName}, but your account has no hookline role (${e.message}). Ask an administrator for the viewer, editor or admin role.`
        : e.status === 401
          ? `The sign-in at ${config.providerName} was not accepted by hookline (${e.message}).`
          : `The sign-in could not be checked: ${e.message}. Try again.`,
    );
  }
  providerSession = { config, idToken: result.idToken };
  enter();
}

async function start(): Promise<void> {
  let config: OidcConfig | null = null;
  let unavailable = "";
  try {
    config = await loadOidcConfig();
  } catch {
    unavailable = "Single sign-on is unavailable right now; a dashboard API token still works.";
  }
  if (config) {
    const oidc = config;
    const button = byId<HTMLButtonElement>("oidc-button");
    button.textContent = `Sign in with ${oidc.providerName}`;
    button.addEventListener("click", () => {
      button.disabled = true;
      void beginSignIn(oidc).catch(() => {
        button.disabled = false;
      });
    });
    byId("oidc-signin").hidden = false;
  }
  if (returningFromProvider() && config) return completeOidc(config);
  if (returningFromProvider()) history.replaceState(null, "", `${location.pathname}${location.hash}`);
  askForToken(unavailable);
  if (config) byId("oidc-button").focus();
}

byId("sign-out").addEventListener("click", () => {
  signOut();
  byId("who").textContent = "";
  for (const id of [
    "rows",
    "dlq-rows",
    "sources-rows",
    "stats-clients",
    "stats-sources",
    "stats-forms",
    "forms-detail",
    "forms-pick",
  ])
    byId(id).replaceChildren();
  const session = providerSession;
  providerSession = null;
  // Signed in at the provider: its session ends too, or the next "Sign in with …" would be let
  // straight back in without a login. The page unloads; the provider sends it back signed out.
  if (session && signOutAtProvider(session.config, session.idToken)) return;
  askForToken();
});
byId("add-client").addEventListener("click", () => modal.open());
window.addEventListener("hashchange", () => {
  if (signedIn()) show(current(), true);
});

void start();
