/**
 * Social sign-in in a real browser (issue 21's console): Debian's Chromium, headless, driven by
 * playwright-core, against a real `citadel serve` reached at `http://localhost:<port>` and a
 * real OpenID provider (the npm `oidc-provider`, tests/support/oidc_provider.ts) on another
 * loopback origin. A new person signs up with the provider's button and lands on /account; the
 * owner of a verified password account the provider's verified email matches is told to sign
 * in, links the provider from /account, and then signs in with it alone. The provider's answer
 * reaches the console's return page in the fragment, and the console script posts it under the
 * console's CSP without leaving it in the address bar or the history. Every page is watched
 * (console errors, CSP violations, uncaught exceptions, dialogs), and the scenario writes
 * docs/screenshots/sign-in-providers.png and account-providers.png.
 */
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc_provider.ts";
import { freePort } from "../support/smtp_server.ts";
import {
  apiCall,
  assertClean,
  type ConsoleServer,
  emailLink,
  heading,
  launchBrowser,
  openPage,
  screenshot,
  signOut,
  startConsoleServer,
  submit,
  visit,
  type Watch,
} from "./console_browser_support.ts";

/** A citadel server with `testidp`, the provider, and the address the browser uses. */
interface SocialSignIn extends AsyncDisposable {
  base: string;
  srv: ConsoleServer;
  idp: TestOidcProvider;
}

/**
 * The provider first, its client registered with citadel's callback on a port chosen here;
 * then `citadel serve` on that port (PORT and PUBLIC_URL given, so its own `url` and `port`,
 * which name the port startConsoleServer would have chosen, are not used), with the provider as
 * `testidp`. The console's return page needs no OAUTH_REDIRECT_URLS.
 */
async function socialSignIn(): Promise<SocialSignIn> {
  const port = freePort();
  const base = `http://localhost:${port}`;
  const idp = await startOidcProvider({
    redirectUris: [`${base}/api/v1/auth/oauth/testidp/callback`],
  });
  let srv: ConsoleServer;
  try {
    srv = await startConsoleServer({
      PORT: String(port),
      PUBLIC_URL: base,
      OAUTH_PROVIDERS: "testidp",
      OAUTH_TESTIDP_ISSUER: idp.issuer,
      OAUTH_TESTIDP_CLIENT_ID: idp.clientId,
      OAUTH_TESTIDP_CLIENT_SECRET: idp.clientSecret,
    }, { host: "localhost" });
  } catch (error) {
    await idp.close();
    throw error;
  }
  assert.equal(srv.server.port, port, "serve listens on the port the provider knows");
  return {
    base,
    srv,
    idp,
    async [Symbol.asyncDispose]() {
      await srv[Symbol.asyncDispose]();
      await idp.close();
    },
  };
}

/**
 * A fresh watched context, every URL its page's main frame showed (in order) and the
 * Content-Security-Policy of each return page it loaded. The provider's pages are not the
 * console's: the favicon Chromium asks the provider for (a 404) is set apart.
 */
async function watchedPage(browser: Browser, idp: TestOidcProvider) {
  const favicon = `(${idp.issuer}/favicon.ico)`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const opened = await openPage(browser, {
    expect: new RegExp(`: Failed to load resource: .* 404 \\(Not Found\\) ${favicon}$`),
  });
  const urls: string[] = [];
  const returnPolicies: string[] = [];
  opened.page.on("framenavigated", (frame) => {
    if (frame === opened.page.mainFrame()) urls.push(frame.url());
  });
  opened.page.on("response", (response) => {
    const url = new URL(response.url());
    if (url.pathname === "/account/sign-in/oauth" && response.request().method() === "GET") {
      returnPolicies.push(response.headers()["content-security-policy"] ?? "");
    }
  });
  return { ...opened, urls, returnPolicies };
}

/**
 * Clicks "Sign in with Testidp" and, when the provider asks who is signing in (its own
 * interaction page: a `sub` field and a Sign in button), answers `sub`.
 */
async function withProvider(page: Page, idp: TestOidcProvider, sub: string): Promise<void> {
  await page.getByRole("link", { name: "Sign in with Testidp", exact: true }).click();
  await page.waitForURL((url) =>
    url.origin === idp.issuer && url.pathname.startsWith("/interaction/")
  );
  await page.locator('input[name="sub"]').fill(sub);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Waits for `/account` after a sign-in through the provider; else fails with the page's alert. */
async function landOnAccount(page: Page): Promise<void> {
  await page.waitForURL((url) => url.pathname === "/account", { timeout: 15_000 }).catch(
    async (error) => {
      const alert = await page.locator("main [role=alert]").first()
        .textContent({ timeout: 1000 }).catch(() => null);
      throw new Error(`Not signed in: at ${page.url()}, the page says ${JSON.stringify(alert)}`, {
        cause: error,
      });
    },
  );
  assert.equal(await heading(page), "Your account");
}

/**
 * Checks that the provider's answer came to the return page in the fragment and never stayed
 * in the address bar (the script replaced it before posting) nor in the tab's history (where
 * Chromium does not keep the return page at all: a form a script posts before the page has
 * loaded replaces the page's entry).
 */
async function assertFragmentGone(
  context: BrowserContext,
  page: Page,
  base: string,
  urls: string[],
  answer: "code" | "link_code",
): Promise<void> {
  const returnPage = `${base}/account/sign-in/oauth`;
  const arrived = urls.findIndex((url) =>
    url.startsWith(`${returnPage}#`) &&
    new URLSearchParams(new URL(url).hash.slice(1)).has(answer)
  );
  assert.ok(arrived >= 0, `the return page got ${answer} in the fragment: ${urls}`);
  const after = urls.slice(arrived + 1);
  assert.ok(after.length > 0, `the address bar changed after the return page: ${urls}`);
  for (const url of after) assert.equal(new URL(url).hash, "", `no fragment left in ${url}`);
  const cdp = await context.newCDPSession(page);
  const { entries } = await cdp.send("Page.getNavigationHistory");
  await cdp.detach();
  for (const { url } of entries) {
    assert.doesNotMatch(url, /#|[?&](code|link_code)=/, "no history entry keeps an answer");
  }
}

/** Asserts the return page was served under the console's policy: scripts of this origin only. */
function assertStrictPolicy(policies: string[]): void {
  assert.ok(policies.length > 0, "the return page was loaded");
  for (const policy of policies) {
    assert.match(policy, /(^|; )script-src 'self' 'nonce-[^']+'(;|$)/, policy);
    assert.match(policy, /(^|; )form-action 'self'(;|$)/, policy);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/, policy);
  }
}

/** Timed test steps, each ending with the watch clean. */
function steps(t: Deno.TestContext, watch: Watch) {
  const timings: Record<string, number> = {};
  const step = async (name: string, fn: () => Promise<void>) => {
    const at = performance.now();
    await t.step(name, fn);
    timings[name] = Math.round(performance.now() - at);
    assertClean(watch, name);
  };
  return { step, timings };
}

/** Today in UTC, as the account page writes a day. */
const today = () => new Date().toISOString().slice(0, 10);

/** The "Sign-in providers" section of /account. */
const providersSection = (page: Page) => page.locator('section[aria-labelledby="identities"]');

Deno.test("social sign-in in a browser: a new person signs up with the provider's button, the return page posts the answer without keeping it in the address bar, and /account lists the provider", async (t) => {
  const started = performance.now();
  await using s = await socialSignIn();
  await using browser = await launchBrowser();
  const { base, idp } = s;
  const email = uniqueEmail("olga");
  idp.accounts.set("olga", {
    sub: "olga",
    email,
    email_verified: true,
    name: "Olga Ladyzhenskaya",
  });
  const { context, page, watch, urls, returnPolicies } = await watchedPage(browser, idp);
  const { step, timings } = steps(t, watch);

  await step("the sign-in page offers 'Sign in with Testidp'", async () => {
    await visit(page, base, "/account/sign-in");
    assert.equal(await heading(page), "Sign in");
    const button = page.getByRole("link", { name: "Sign in with Testidp", exact: true });
    assert.equal(
      await button.getAttribute("href"),
      "/account/sign-in/oauth/testidp?next=%2Faccount",
    );
    await screenshot(page, "sign-in-providers");
  });

  await step("sign in at the provider: back on /account, signed up and signed in", async () => {
    await withProvider(page, idp, "olga");
    await landOnAccount(page);
    await page.getByText(email, { exact: true }).first().waitFor();
  });

  await step("the provider's answer never stays in the address bar or the history", async () => {
    await assertFragmentGone(context, page, base, urls, "code");
    assert.equal(page.url(), `${base}/account`);
    assertStrictPolicy(returnPolicies);
  });

  await step("/account lists Testidp under 'Sign-in providers'", async () => {
    const section = providersSection(page);
    assert.equal(await section.locator("h2").textContent(), "Sign-in providers");
    const row = section.locator("tbody tr");
    assert.equal(await row.count(), 1);
    assert.equal((await row.locator("td").nth(0).textContent())?.trim(), "Testidp");
    assert.equal((await row.locator("td").nth(1).textContent())?.trim(), email);
    assert.ok(await row.getByRole("button", { name: "Unlink Testidp" }).isVisible());
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, "account-providers");
  });

  assertClean(watch, "the new person's social sign-in");
  console.log(
    `social sign-up scenario: ${Math.round(performance.now() - started)} ms in all; steps (ms): ${
      JSON.stringify(timings)
    }`,
  );
});

Deno.test("social sign-in in a browser: the provider's verified email of a verified password account asks its owner to sign in, the owner links the provider on /account, then signs in with it alone", async (t) => {
  const started = performance.now();
  await using s = await socialSignIn();
  await using browser = await launchBrowser();
  const { base, srv, idp } = s;
  const email = uniqueEmail("rita");
  const fullName = "Rita Levi-Montalcini";
  const registered = await apiCall(base, "POST", "/api/v1/auth/register", {
    body: { email, password: STRONG_PASSWORD, name: fullName },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const link = await emailLink(srv.dataDir, email, "verify-email");
  const verified = await apiCall(base, "POST", "/api/v1/auth/verify-email", {
    body: { token: new URL(link).hash.slice("#token=".length) },
  });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  idp.accounts.set("rita", { sub: "rita", email, email_verified: true });
  const { context, page, watch, urls, returnPolicies } = await watchedPage(browser, idp);
  const { step, timings } = steps(t, watch);

  await step("sign in with Testidp: the page says an account uses that address", async () => {
    await visit(page, base, "/account/sign-in");
    await withProvider(page, idp, "rita");
    await page.getByText(
      "An account already uses your Testidp email address. Sign in to it here (within ten " +
        "minutes), then link Testidp to it on your account page.",
    ).waitFor({ timeout: 15_000 });
    assert.equal(page.url(), `${base}/account/sign-in/oauth`, "no fragment in the address bar");
    await assertFragmentGone(context, page, base, urls, "link_code");
    assertStrictPolicy(returnPolicies);
    assert.equal(await heading(page), "Sign in");
  });

  await step("sign in with the password: /account offers 'Link Testidp'", async () => {
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(STRONG_PASSWORD);
    await submit(page, "Sign in");
    assert.equal(new URL(page.url()).pathname, "/account");
    assert.equal(await heading(page), "Your account");
    const section = providersSection(page);
    await section.getByText("No provider is linked to your account.").waitFor();
    assert.ok(await section.getByRole("button", { name: "Link Testidp", exact: true }).isVisible());
    assert.ok(await section.getByRole("button", { name: "Not now", exact: true }).isVisible());
  });

  await step("link it: 'The provider was linked' and the section lists it", async () => {
    await submit(page, "Link Testidp");
    assert.equal(page.url(), `${base}/account?done=identity_linked`);
    await page.getByText("The provider was linked: you can sign in with it.").waitFor();
    const row = providersSection(page).locator("tbody tr");
    assert.equal(await row.count(), 1);
    assert.equal((await row.locator("td").nth(0).textContent())?.trim(), "Testidp");
    assert.equal(await row.locator("td").nth(3).textContent(), "never", "not used yet");
    assert.equal(
      await page.getByRole("button", { name: "Link Testidp", exact: true }).count(),
      0,
      "the pending link is spent",
    );
  });

  await step("sign out, sign in with Testidp: the same account, signed in", async () => {
    await signOut(page);
    const mark = urls.length;
    const day = today();
    await page.getByRole("link", { name: "Sign in with Testidp", exact: true }).click();
    // The provider remembers its own session and the grant: it does not ask again.
    await landOnAccount(page);
    await page.getByText(email, { exact: true }).first().waitFor();
    assert.ok(
      !urls.slice(mark).some((url) => new URL(url).pathname.startsWith("/interaction/")),
      `the provider signed its user in from its own session: ${urls.slice(mark)}`,
    );
    await assertFragmentGone(context, page, base, urls.slice(mark), "code");
    assert.equal(
      await page.getByLabel("Name", { exact: true }).first().inputValue(),
      fullName,
      "the password account's own profile",
    );
    const lastUsed = await providersSection(page).locator("tbody tr td").nth(3).textContent();
    assert.ok(lastUsed && [day, today()].includes(lastUsed), `last used ${day}, not ${lastUsed}`);
  });

  assertClean(watch, "the existing account's social sign-in");
  console.log(
    `social link scenario: ${Math.round(performance.now() - started)} ms in all; steps (ms): ${
      JSON.stringify(timings)
    }`,
  );
});
