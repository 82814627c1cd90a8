/**
 * The console's one stylesheet and one script, served by citadel itself (no CDN, no build
 * step), and the browser half of WebAuthn (@simplewebauthn/browser, embedded by
 * scripts/vendor_webauthn_browser.ts) for the pages with a passkey ceremony. The script only
 * enhances: copy buttons, confirmation before destructive forms, moving a link's `#token=`
 * into its form (and out of the address bar), posting a provider's answer from the sign-in
 * return page's fragment, and the passkey ceremonies; every form also
 * works without it (on a link page the code from the email is pasted instead), and a
 * passkey's form stays hidden where the browser cannot run one.
 */
import { SIMPLEWEBAUTHN_BROWSER } from "./vendor/simplewebauthn_browser.ts";

/** Where the console's assets are served (the routes; pages link to {@linkcode ASSET_HREF}). */
export const ASSET_PATH = {
  style: "/console/style.css",
  script: "/console/app.js",
  webauthn: "/console/simplewebauthn-browser.js",
  icon: "/console/icon.svg",
} as const;

/** `/console/simplewebauthn-browser.js`: the UMD bundle, global `SimpleWebAuthnBrowser`. */
export const WEBAUTHN_SCRIPT = SIMPLEWEBAUTHN_BROWSER;

/** `/console/style.css`: readable on a phone, AA contrast, visible focus. */
export const STYLESHEET = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4a5561; --bg: #ffffff; --line: #d0d7de;
  --accent: #0b5cad; --danger: #b42318; --ok: #116329; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible {
  outline: 3px solid #1f6feb; outline-offset: 2px; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center;
  justify-content: space-between; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
section { border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
.field { margin: .75rem 0; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input, select { width: 100%; max-width: 28rem; padding: .5rem; font: inherit; color: var(--fg);
  border: 1px solid #6e7781; border-radius: 6px; background: #fff; }
input[type=checkbox] { width: auto; }
input.compact { width: auto; min-width: 8rem; max-width: 14rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; max-width: 28rem; }
button { font: inherit; padding: .5rem 1rem; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; }
button.secondary, a.button.secondary { background: #fff; color: var(--accent); }
a.button { display: inline-block; padding: .5rem 1rem; border-radius: 6px; text-decoration: none;
  border: 1px solid var(--accent); background: var(--accent); color: #fff; }
button.danger { background: var(--danger); border-color: var(--danger); }
button.link { background: none; border: none; color: var(--accent); padding: 0;
  text-decoration: underline; }
form.inline { display: inline; }
.hint { color: var(--muted); font-size: .9rem; margin: .25rem 0 0; }
.error { color: var(--danger); font-weight: 600; margin: .25rem 0 0; }
.flash { padding: .75rem 1rem; border-radius: 6px; border: 1px solid; }
.flash.ok { color: var(--ok); border-color: var(--ok); background: #eefbf1; }
.flash.error { color: var(--danger); border-color: var(--danger); background: #fff1f0; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: break-word; }
td code { word-break: break-all; }
.inline-label { display: inline; font-weight: normal; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: break-word; }
.table { overflow-x: auto; position: relative; }
code, .secret { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--soft);
  padding: .1rem .3rem; border-radius: 4px; overflow-wrap: anywhere; }
.qr svg { width: 12rem; height: 12rem; background: #fff; }
.codes { columns: 2; font-family: ui-monospace, monospace; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 4px; font-size: .85rem;
  border: 1px solid var(--line); background: var(--soft); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 40rem) { th, td { padding: .3rem; } .codes { columns: 1; } }
`;

/** `/console/icon.svg`: the tab's icon (a browser asks for one; without it, a 404). */
export const ICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b5cad"/><path d="M9 23V11l7-3 7 3v12H9z" fill="#fff"/></svg>`;

/**
 * `/console/app.js`: progressive enhancement only; no inline handlers anywhere. A passkey
 * ceremony is a `<form data-passkey="register|authenticate" data-options="<url>">` (see
 * passkey_parts.tsx), shown only when the browser has WebAuthn: its fields go as JSON (the
 * CSRF token in the x-csrf-token header) to `data-options`, the options to
 * @simplewebauthn/browser, its answer (`response`, with the fields) to the form's action;
 * then the browser goes to the `location` answered (only a path of this site, and the button
 * stays disabled while the page goes), or the form's alert says why not: the console's
 * `message`, else the first field error's, else the `detail` (a refusal for a stale sign-in
 * goes to `data-reauthenticate`; one that carries a `location`, a step that cannot be
 * retried, goes there).
 */
export const SCRIPT = `"use strict";
const PASSKEY_ERRORS = {
  NotAllowedError: "The passkey request was cancelled or timed out. Try again.",
  InvalidStateError: "This device already holds a passkey for your account.",
  SecurityError: "This address cannot use passkeys. Use the site's usual address.",
};

async function postJson(url, csrf, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json",
      "x-csrf-token": csrf },
    body: JSON.stringify(body),
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  return { ok: response.ok, status: response.status, body: answer || {} };
}

// Where an answer may send the browser: a path of this site ("/..."), never "//host" or
// "/\\host" (both leave the site), nor anything the URL parser resolves elsewhere.
function sitePath(value) {
  if (typeof value !== "string" || value[0] !== "/" || value[1] === "/" || value[1] === "\\\\") {
    return undefined;
  }
  try {
    return new URL(value, location.href).origin === location.origin ? value : undefined;
  } catch {
    return undefined;
  }
}

// The words of a refusal: the console's own message, the first field's, the problem's detail.
function refusalText(answer) {
  const body = answer.body;
  const first = Array.isArray(body.errors) && body.errors[0];
  const field = first && typeof first.message === "string" ? first.message : "";
  return body.message || field || body.detail ||
    "Something went wrong (" + answer.status + "). Try again.";
}

async function passkeyCeremony(form) {
  const alert = form.querySelector("[data-passkey-error]");
  const button = form.querySelector("button[type=submit]");
  const show = (text) => {
    alert.textContent = text;
    alert.hidden = false;
  };
  alert.hidden = true;
  alert.textContent = "";
  const fields = Object.fromEntries(new FormData(form));
  const csrf = fields._csrf || "";
  delete fields._csrf;
  // Once the browser is sent on, the page is going away: the button stays disabled.
  let leaving = false;
  const go = (path) => {
    leaving = true;
    location.assign(path);
  };
  const refused = (answer) => {
    if (answer.body.code === "reauthentication_required" && form.dataset.reauthenticate) {
      return go(form.dataset.reauthenticate);
    }
    show(refusalText(answer));
    // A refusal that ends this step (a sign-in that took too long) says where to start again.
    const next = !answer.ok && sitePath(answer.body.location);
    if (next) go(next);
  };
  button.disabled = true;
  try {
    const options = await postJson(form.dataset.options, csrf, fields);
    if (!options.ok) return refused(options);
    const webauthn = window.SimpleWebAuthnBrowser;
    let response;
    try {
      response = form.dataset.passkey === "register"
        ? await webauthn.startRegistration({ optionsJSON: options.body })
        : await webauthn.startAuthentication({ optionsJSON: options.body });
    } catch (error) {
      const name = error && error.cause && error.cause.name || error && error.name;
      return show(PASSKEY_ERRORS[name] || "Your browser could not use a passkey: " +
        (error && error.message || "unknown error"));
    }
    const done = await postJson(form.getAttribute("action"), csrf, { ...fields, response });
    const next = done.ok && sitePath(done.body.location);
    if (next) return go(next);
    refused(done);
  } catch {
    show("The server could not be reached. Check your connection and try again.");
  } finally {
    if (!leaving) {
      button.disabled = false;
      // A disabled button loses the focus: give it back, next to the message now shown.
      if (!alert.hidden) button.focus();
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const passkeys = Boolean(window.PublicKeyCredential && window.SimpleWebAuthnBrowser);
  for (const note of document.querySelectorAll("[data-passkey-unsupported]")) {
    note.hidden = passkeys;
  }
  for (const form of document.querySelectorAll("form[data-passkey]")) {
    if (!passkeys) continue;
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void passkeyCeremony(form);
    });
  }
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    });
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // A provider's answer comes back in the fragment (never sent to a server): it goes into the
  // return page's form, out of the address bar, and the form is posted.
  const oauthReturn = document.querySelector("form[data-oauth-return]");
  if (oauthReturn) {
    const answer = new URLSearchParams(location.hash.slice(1));
    history.replaceState(null, "", location.pathname);
    for (const name of ["code", "error", "link_code"]) {
      const input = oauthReturn.querySelector("input[name=" + name + "]");
      if (input) input.value = answer.get(name) || "";
    }
    oauthReturn.querySelector("[data-oauth-script]").hidden = true;
    oauthReturn.querySelector("[data-oauth-waiting]").hidden = false;
    HTMLFormElement.prototype.submit.call(oauthReturn);
  }
  const fromFragment = document.querySelector("input[data-from-fragment]");
  if (fromFragment) {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) {
      fromFragment.value = token;
      history.replaceState(null, "", location.pathname);
    }
  }
});
`;

/**
 * A short hash of an asset's text (two 32-bit FNV-1a variants, 16 hex digits): a cache key,
 * not a security measure.
 */
export function contentVersion(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x1b873593 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    a = Math.imul(a ^ unit, 0x01000193);
    b = Math.imul(b ^ unit, 0x5bd1e995);
    b ^= b >>> 15;
  }
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  return hex(a) + hex(b);
}

/**
 * What pages link to: each asset's path with `?v=` of its content, computed once at module
 * load, so a browser holding an older copy (or an older page) never runs the console script
 * with another version of the WebAuthn bundle or styles; the routes ignore the query.
 */
export const ASSET_HREF = {
  style: `${ASSET_PATH.style}?v=${contentVersion(STYLESHEET)}`,
  script: `${ASSET_PATH.script}?v=${contentVersion(SCRIPT)}`,
  webauthn: `${ASSET_PATH.webauthn}?v=${contentVersion(WEBAUTHN_SCRIPT)}`,
  icon: ASSET_PATH.icon,
} as const;
