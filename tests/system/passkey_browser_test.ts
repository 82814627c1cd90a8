/**
 * Passkeys in a real browser (issue 20's acceptance): Debian's Chromium, headless, driven by
 * playwright-core, with the DevTools virtual authenticator (CTAP2, internal transport,
 * resident keys, user verification) against a real `citadel serve` reached at
 * `http://localhost:<port>` (an IP address cannot be a WebAuthn RP ID). A user is refused a
 * name the API would not keep before the authenticator runs, adds a passkey
 * on /account, signs in with it alone, uses it as the second factor after the password and
 * for a step-up, removes it, and the next passkey sign-in fails with a message on the page.
 * Every page is watched (console errors, CSP violations, uncaught exceptions, dialogs), and
 * the scenario writes docs/screenshots/account-passkeys.png and sign-in-passkey.png.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  addVirtualAuthenticator,
  apiCall,
  assertClean,
  checkLabels,
  heading,
  launchBrowser,
  openPage,
  PHONE,
  screenshot,
  signIn,
  signOut,
  startConsoleServer,
  visit,
} from "./console_browser_support.ts";

const PASSWORD = "Velvet-Compass-Harbor-39!";

/**
 * Starts a passkey ceremony (`start`: a click, a key press) and waits for the page the script
 * then goes to (`path`); fails at once with the page's own message when the script shows one.
 */
async function ceremony(page: Page, start: () => Promise<void>, path: string): Promise<void> {
  const before = page.url();
  await start();
  const alert = page.locator("[data-passkey-error]:visible");
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const url = new URL(page.url());
    if (url.href !== before && url.pathname === path) {
      await page.waitForLoadState();
      return;
    }
    const shown = await alert.isVisible().catch(() => false);
    if (shown) throw new Error(`the ceremony failed: ${await alert.textContent()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the ceremony did not reach ${path} (still at ${page.url()})`);
}

/** A click on the button named `name`. */
const click = (page: Page, name: string) => () =>
  page.getByRole("button", { name, exact: true }).click();

/** The text of the page's visible passkey alert, once the script has shown it. */
async function passkeyAlert(page: Page): Promise<string> {
  const alert = page.locator("[data-passkey-error]:visible");
  await alert.waitFor({ timeout: 15_000 });
  return (await alert.textContent())?.trim() ?? "";
}

Deno.test("passkeys in a browser: add one on /account, sign in with it alone, use it after the password and for a step-up, remove it; then it no longer signs in", async (t) => {
  const started = performance.now();
  await using srv = await startConsoleServer({}, { host: "localhost" });
  await using browser = await launchBrowser();
  const base = srv.url;
  assert.ok(base.startsWith("http://localhost:"), base);
  const email = `ada.${Date.now().toString(36)}@example.com`;
  const registered = await apiCall(base, "POST", "/api/v1/auth/register", {
    body: { email, password: PASSWORD, name: "Ada Lovelace" },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const { context, page, watch } = await openPage(browser, {
    allowConfirm: /^Remove the passkey "Ada's laptop"\?/,
    // The refused name (422) and the refused sign-in at the end (401): the browser logs the
    // status of the script's request.
    expect: /status of (401|422)/,
  });
  const authenticator = await addVirtualAuthenticator(context, page);
  const labels: string[] = [];
  const timings: Record<string, number> = {};
  const step = async (name: string, fn: () => Promise<void>) => {
    const at = performance.now();
    await t.step(name, fn);
    timings[name] = Math.round(performance.now() - at);
  };

  await step("sign in with the password; /account offers to add a passkey", async () => {
    await signIn(page, base, email, PASSWORD);
    const section = page.locator('section[aria-labelledby="passkeys"]');
    await section.getByText("You have no passkeys yet.").waitFor();
    assert.ok(await section.getByRole("button", { name: "Add a passkey" }).isVisible());
    assert.equal(
      await section.locator("[data-passkey-unsupported]").isVisible(),
      false,
      "the note for browsers without passkeys is hidden here",
    );
    await checkLabels(page, labels);
  });

  await step(
    "a name with a text-direction mark is refused before the authenticator runs",
    async () => {
      const section = page.locator('section[aria-labelledby="passkeys"]');
      const name = section.getByLabel("Name of the new passkey");
      assert.equal(await name.getAttribute("maxlength"), "100");
      await name.fill("Ada\u202elaptop");
      await click(page, "Add a passkey")();
      assert.match(await passkeyAlert(page), /cannot contain control or formatting characters/);
      assert.equal((await authenticator.credentials()).length, 0, "no passkey was created");
      assert.equal(
        await section.getByRole("button", { name: "Add a passkey" }).isEnabled(),
        true,
        "the button is back for another try",
      );
    },
  );

  await step("add a passkey from /account: the authenticator holds a resident key", async () => {
    const section = page.locator('section[aria-labelledby="passkeys"]');
    await section.getByLabel("Name of the new passkey").fill("Ada's laptop");
    await ceremony(page, click(page, "Add a passkey"), "/account");
    await page.getByText("Your passkey was added. You can sign in with it.").waitFor();
    const row = section.locator("tr", { hasText: "Ada's laptop" });
    await row.waitFor();
    assert.equal((await row.locator("td").nth(2).textContent())?.trim(), "never");
    const credentials = await authenticator.credentials();
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential");
    await checkLabels(page, labels);
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, "account-passkeys");
    await page.setViewportSize(PHONE);
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert.ok(overflow <= 0, `the account page fits a phone's width (overflow ${overflow}px)`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await step("sign out, then sign in with the passkey alone (keyboard)", async () => {
    await signOut(page);
    assert.equal(await heading(page), "Sign in");
    const button = page.getByRole("button", { name: "Sign in with a passkey", exact: true });
    await button.waitFor();
    await screenshot(page, "sign-in-passkey");
    await checkLabels(page, labels);
    await button.focus();
    await ceremony(page, () => page.keyboard.press("Enter"), "/account");
    assert.equal(await heading(page), "Your account");
    await page.getByText(email, { exact: true }).first().waitFor();
    const row = page.locator('section[aria-labelledby="passkeys"] tr', { hasText: "Ada's laptop" });
    assert.match((await row.locator("td").nth(2).textContent()) ?? "", /UTC$/, "last used now");
  });

  await step("sign out, sign in with the password: the passkey is the second factor", async () => {
    await signOut(page);
    await visit(page, base, "/account/sign-in");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole("button", { name: "Sign in", exact: true }).click(),
    ]);
    assert.equal(await heading(page), "Two-factor authentication");
    assert.equal(await page.getByLabel("Code from your authenticator app").count(), 0);
    await checkLabels(page, labels);
    await ceremony(page, click(page, "Use a passkey"), "/account");
    assert.equal(await heading(page), "Your account");
  });

  await step("a step-up confirmed with the passkey", async () => {
    await visit(page, base, "/account/reauthenticate?next=%2Faccount");
    assert.equal(await heading(page), "Confirm it is you");
    assert.equal(await page.getByLabel("Password").count(), 0, "the passkey only (no TOTP)");
    await ceremony(page, click(page, "Confirm with a passkey"), "/account");
    await page.getByText("Thank you. You can continue.").waitFor();
  });

  await step("remove the passkey on /account", async () => {
    const row = page.locator('section[aria-labelledby="passkeys"] tr', { hasText: "Ada's laptop" });
    await Promise.all([
      page.waitForNavigation(),
      row.getByRole("button", { name: "Remove" }).click(),
    ]);
    await page.getByText("The passkey was removed.").waitFor();
    await page.getByText("You have no passkeys yet.").waitFor();
  });

  await step("the next passkey sign-in fails, with the reason on the page", async () => {
    await signOut(page);
    await page.getByRole("button", { name: "Sign in with a passkey", exact: true }).click();
    assert.match(await passkeyAlert(page), /^That passkey was not accepted\./);
    assert.equal(new URL(page.url()).pathname, "/account/sign-in", "still signed out");
    assert.equal(
      await page.evaluate<string | undefined>("document.activeElement?.textContent"),
      "Sign in with a passkey",
      "the focus is back on the button, next to the message",
    );
    assert.equal((await authenticator.credentials()).length, 1, "the browser still holds it");
    assert.equal(watch.expected.length, 2, watch.expected.join("\n"));
  });

  assertClean(watch, "the passkey scenario");
  assert.deepEqual(labels, [], "every input of every page has its own label");
  console.log(
    `passkey scenario: ${Math.round(performance.now() - started)} ms in all; steps (ms): ${
      JSON.stringify(timings)
    }`,
  );
});
