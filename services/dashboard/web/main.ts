// The dashboard page: sign-in with a token, then four views chosen by the URL's hash
// (#patients, #stats, #sources, #dead-letters) and the Add New Client dialog.
import "./style.css";
import { signedIn, signIn, signOut, whenUnauthorized } from "./api.ts";
import { clientModal } from "./client-modal.ts";
import { deadLettersView } from "./dead-letters-view.ts";
import { announce, byId } from "./dom.ts";
import { patientsView } from "./patients-view.ts";
import { sourcesView } from "./sources-view.ts";
import { statsView } from "./stats-view.ts";

const VIEWS = ["patients", "stats", "sources", "dead-letters"] as const;
type View = (typeof VIEWS)[number];

const patients = patientsView();
const views: Record<View, { show(): void }> = {
  patients,
  stats: statsView(),
  sources: sourcesView(),
  "dead-letters": deadLettersView(),
};
const modal = clientModal(() => void patients.refreshFilters());

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
  byId("signin").hidden = true;
  byId("app").hidden = false;
  announce("Signed in");
  void patients.refreshFilters();
  show(current());
  byId<HTMLInputElement>("q").focus();
});

byId("sign-out").addEventListener("click", () => {
  signOut();
  for (const id of ["rows", "dlq-rows", "sources-rows", "stats-clients", "stats-sources", "stats-forms"])
    byId(id).replaceChildren();
  askForToken();
});
byId("add-client").addEventListener("click", () => modal.open());
window.addEventListener("hashchange", () => {
  if (signedIn()) show(current(), true);
});

askForToken();
