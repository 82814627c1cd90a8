/**
 * What the console's browser tests share: a real `citadel serve` on a file database (its
 * development mail as `.eml` files under the database's directory), Debian's Chromium driven
 * by playwright-core, a watch over every page for console errors, uncaught exceptions, CSP
 * violations and dialogs, and the console's forms filled the way a person does.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import "./console_browser_deno_shim.ts";
import {
  type Browser,
  type BrowserContext,
  type CDPSession,
  chromium,
  type Page,
  type Response as PageResponse,
} from "playwright-core";
import { type ServerProcess, startServer, TEST_ENV } from "../support/helpers.ts";
import { freePort } from "../support/smtp_server.ts";

/** Debian's Chromium (installed by .ci/run). */
export const CHROMIUM = "/usr/bin/chromium";
/** The first super admin, created by serve from its environment. */
export const ADMIN = { email: "grace.hopper@example.com", password: "Granite-Harbor-Violet-58?" };
/** The desktop viewport of the screenshots. */
export const DESKTOP = { width: 1280, height: 860 };
/** The phone viewport of the screenshots. */
export const PHONE = { width: 390, height: 844 };
/** Where the screenshots go (README shows them). */
export const SCREENSHOTS = new URL("../../docs/screenshots/", import.meta.url).pathname;

/** A running `citadel serve` with its database directory. */
export interface ConsoleServer extends AsyncDisposable {
  url: string;
  port: number;
  /** The database file's directory (DATA_DIR): development mail lands in `mail/` here. */
  dataDir: string;
  server: ServerProcess;
}

function randomBase64(bytes: number): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}

/**
 * Starts `citadel serve` on a port chosen here (so PUBLIC_URL, hence the email links, name
 * it), over a file database in a fresh directory, with the first super admin {@linkcode ADMIN}.
 * `host: "localhost"` names the server `http://localhost:<port>` (PUBLIC_URL too): WebAuthn
 * needs a domain as its RP ID, and an IP address is not one.
 */
export async function startConsoleServer(
  env: Record<string, string> = {},
  options: { host?: "127.0.0.1" | "localhost" } = {},
): Promise<ConsoleServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "citadel-browser-" });
  const port = freePort();
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  let server: ServerProcess;
  try {
    server = await startServer({
      ...TEST_ENV,
      APP_ENV: "development",
      LOG_LEVEL: "info",
      // Random secrets, so the check page reports only what a development server is.
      JWT_SECRET_KEY: randomBase64(48),
      ENCRYPTION_KEY: randomBase64(32),
      DATABASE_URL: `file:${join(dataDir, "citadel.db")}`,
      PORT: String(port),
      PUBLIC_URL: url,
      SUPER_ADMIN_USERNAME: ADMIN.email,
      SUPER_ADMIN_PASSWORD: ADMIN.password,
      ...env,
    });
  } catch (error) {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    url,
    port,
    dataDir,
    server,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Chromium, headless; `--no-sandbox` because the tests run as root. */
export async function launchBrowser(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox"],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/**
 * Everything a page reported that a console page must never cause: console errors (CSP
 * violations are reported as console errors too), uncaught exceptions, `securitypolicyviolation`
 * events (logged by an init script) and dialogs other than the console's own confirmations.
 */
export interface Watch {
  problems: string[];
  /** Messages expected by an attack test, kept apart from the problems. */
  expected: string[];
}

const CSP_REPORTER = `document.addEventListener("securitypolicyviolation", (e) => {
  console.error("securitypolicyviolation: " + e.violatedDirective + " blocked " + e.blockedURI +
    " in " + e.documentURI);
}, true);`;

/** Watches every page of `context`; `confirm` dialogs whose text `allowConfirm` matches are accepted. */
export async function watchContext(
  context: BrowserContext,
  options: { allowConfirm?: RegExp; expect?: RegExp } = {},
): Promise<Watch> {
  const watch: Watch = { problems: [], expected: [] };
  const note = (text: string) =>
    (options.expect?.test(text) ? watch.expected : watch.problems).push(text);
  await context.addInitScript({ content: CSP_REPORTER });
  const onPage = (page: Page) => {
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const source = message.location().url;
      note(`console error on ${page.url()}: ${message.text()}${source ? ` (${source})` : ""}`);
    });
    page.on("pageerror", (error) => note(`uncaught exception on ${page.url()}: ${error.message}`));
    page.on("dialog", (dialog) => {
      const text = `${dialog.type()} dialog on ${page.url()}: ${dialog.message()}`;
      if (dialog.type() === "confirm" && options.allowConfirm?.test(dialog.message())) {
        void dialog.accept();
      } else {
        watch.problems.push(text);
        void dialog.dismiss();
      }
    });
  };
  context.on("page", onPage);
  for (const page of context.pages()) onPage(page);
  return watch;
}

/** A fresh context (its own cookies) with a watched page. */
export async function openPage(
  browser: Browser,
  options: {
    viewport?: { width: number; height: number };
    allowConfirm?: RegExp;
    expect?: RegExp;
  } = {},
): Promise<{ context: BrowserContext; page: Page; watch: Watch }> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP });
  const watch = await watchContext(context, options);
  const page = await context.newPage();
  return { context, page, watch };
}

/** Asserts a watch saw nothing. */
export function assertClean(watch: Watch, where = "the browser"): void {
  assert.deepEqual(watch.problems, [], `${where} reported errors, CSP violations or dialogs`);
}

/** Goes to `path` of `base` and returns the main response. */
export async function visit(page: Page, base: string, path: string): Promise<PageResponse> {
  const response = await page.goto(`${base}${path}`);
  assert.ok(response, `a response for ${path}`);
  return response;
}

/** Clicks a submit button and waits for the navigation its form starts. */
export async function submit(page: Page, name: string | RegExp): Promise<PageResponse | null> {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name, exact: typeof name === "string" }).first().click(),
  ]);
  return response;
}

/** The page's `<h1>`. */
export async function heading(page: Page): Promise<string> {
  return (await page.locator("main h1").first().textContent({ timeout: 5000 }))?.trim() ?? "";
}

/** Signs in through the console's form (the second factor when asked) and lands on `/account`. */
export async function signIn(
  page: Page,
  base: string,
  email: string,
  password: string,
  factor?: { code: string } | { recovery_code: string },
): Promise<void> {
  await visit(page, base, "/account/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await submit(page, "Sign in");
  if (factor) {
    assert.equal(await heading(page), "Two-factor authentication");
    if ("code" in factor) {
      await page.getByLabel("Code from your authenticator app").fill(factor.code);
    } else await page.getByLabel("Or a recovery code").fill(factor.recovery_code);
    await submit(page, "Continue");
  }
  assert.equal(new URL(page.url()).pathname, "/account", `signed in (at ${page.url()})`);
}

/** Signs out with the navigation's button. */
export async function signOut(page: Page): Promise<void> {
  await submit(page, "Sign out");
  assert.equal(new URL(page.url()).pathname, "/account/sign-in");
}

/**
 * What keeps a page's fields from being labelled (every input has a label, and a label's
 * `for` reaches its own input only when ids are unique): duplicate ids, unlabelled inputs.
 */
const LABEL_CHECK = `(() => {
  const problems = [];
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
  for (const [id, count] of seen) if (count > 1) problems.push("id " + id + " used " + count + " times");
  for (const input of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (input.labels.length === 0 && !input.getAttribute("aria-label")) {
      problems.push("input " + (input.name || input.id) + " has no label of its own");
    }
  }
  return problems;
})()`;

/** Adds the label problems of the page now shown to `found`, each with the page's path. */
export async function checkLabels(page: Page, found: string[]): Promise<void> {
  const path = new URL(page.url()).pathname;
  for (const problem of await page.evaluate<string[]>(LABEL_CHECK)) {
    if (!found.includes(`${path}: ${problem}`)) found.push(`${path}: ${problem}`);
  }
}

/** Writes a screenshot of the page (whole by default) to docs/screenshots/<name>.png. */
export async function screenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}.png`),
    fullPage: options.fullPage ?? true,
  });
}

/** The `.eml` files of the development mailer, oldest first. */
async function mailFiles(dataDir: string): Promise<string[]> {
  const dir = join(dataDir, "mail");
  try {
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".eml")) names.push(join(dir, entry.name));
    }
    return names.sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/**
 * The newest link to `/account/<page>#token=` in a message to `to`, waiting for the outbox
 * (serve sends every second) to write it.
 */
export async function emailLink(
  dataDir: string,
  to: string,
  page: string,
  timeoutMs = 10_000,
): Promise<string> {
  const pattern = new RegExp(`https?://[^\\s"'<>]+/account/${page}#token=[A-Za-z0-9_-]+`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const file of (await mailFiles(dataDir)).reverse()) {
      const mail = await simpleParser(Buffer.from(await Deno.readFile(file)));
      const recipients = [mail.to].flat().flatMap((a) => a?.value ?? []).map((a) => a.address);
      if (!recipients.includes(to)) continue;
      const link = pattern.exec(`${mail.text ?? ""}\n${mail.html || ""}`);
      if (link) return link[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no ${page} link to ${to} under ${dataDir}/mail`);
}

/** A JSON call to the server's API (outside the browser). */
export async function apiCall(
  base: string,
  method: string,
  path: string,
  options: { bearer?: string; apiKey?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  if (options.apiKey) headers["x-api-key"] = options.apiKey;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

/** A small page server on another loopback port: another origin, for the attack pages. */
export function foreignSite(
  pages: Record<string, string>,
): { origin: string; port: number } & AsyncDisposable {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    const html = pages[path];
    return html === undefined
      ? new Response("not found", { status: 404 })
      : new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  });
  const port = server.addr.port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** An HTML attribute value, escaped. */
export function attr(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
}

/** A DevTools virtual authenticator of a page, and the credentials it holds. */
export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
  /** The credentials it holds (`WebAuthn.getCredentials`). */
  credentials(): Promise<Array<{ credentialId: string; isResidentCredential: boolean }>>;
}

/**
 * Adds a platform authenticator to `page` through the DevTools protocol, as a phone's or a
 * laptop's: CTAP2, internal transport, resident keys (passkeys), user verification that
 * succeeds, presence simulated (no prompt waits for a touch).
 */
export async function addVirtualAuthenticator(
  context: BrowserContext,
  page: Page,
): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    async credentials() {
      return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
    },
  };
}
