/**
 * The web console in a real browser (issue 19's acceptance): Debian's Chromium, headless,
 * driven by playwright-core, against a real `citadel serve` on a file database. One scenario
 * walks a user's whole life in the console and an administrator's answer to it; the other
 * tests are the attacks the console must refuse. Every page is watched: a console error, an
 * uncaught exception, a CSP violation or an unexpected dialog fails the test. The scenario
 * writes the screenshots of docs/screenshots/.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { totp } from "../support/mfa_support.ts";
import {
  ADMIN,
  apiCall,
  assertClean,
  attr,
  checkLabels,
  emailLink,
  foreignSite,
  heading,
  launchBrowser,
  openPage,
  PHONE,
  screenshot,
  signIn,
  signOut,
  startConsoleServer,
  submit,
  visit,
} from "./console_browser_support.ts";

const PASSWORD = "Velvet-Compass-Harbor-39!";
const NEW_PASSWORD = "Lantern-Meadow-Copper-84?";
const XSS = "<img src=x onerror=alert(1)>";

let serial = 0;
const emailFor = (who: string) => `${who}.${Date.now().toString(36)}${serial++}@example.com`;

/** Registers a user through the API (EMAIL_VERIFICATION=optional: they can sign in at once). */
async function registered(base: string, who: string, name?: string) {
  const email = emailFor(who);
  const res = await apiCall(base, "POST", "/api/v1/auth/register", {
    body: { email, password: PASSWORD, ...(name ? { name } : {}) },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { email, id: (res.body.user as { id: string }).id };
}

/** An API session of a user: password, then the second factor when asked. */
async function apiLogin(
  base: string,
  email: string,
  password: string,
  factor?: { code: string } | { recovery_code: string },
): Promise<{ status: number; accessToken?: string }> {
  const first = await apiCall(base, "POST", "/api/v1/auth/login", { body: { email, password } });
  if (first.status !== 200) return { status: first.status };
  if (first.body.mfa_required !== true) {
    return { status: 200, accessToken: String(first.body.access_token) };
  }
  assert.ok(factor, "a second factor for an account with MFA on");
  const second = await apiCall(base, "POST", "/api/v1/auth/mfa", {
    body: { mfa_token: first.body.mfa_token, ...factor },
  });
  return { status: second.status, accessToken: second.body.access_token as string | undefined };
}

/** The status `call` answers with once it is `wanted`, or its last one after 1.5 s. */
async function statusWithin(
  call: () => Promise<{ status: number }>,
  wanted: number,
): Promise<number> {
  const deadline = Date.now() + 1500;
  for (;;) {
    const { status } = await call();
    if (status === wanted || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The value of the CSRF input of the page's form posting to `action`. */
async function csrfOfForm(page: Page, action: string): Promise<string> {
  return await page.locator(`form[action="${action}"] input[name="_csrf"]`).first().inputValue();
}

/** Builds a form in the page and submits it (a string: it runs in the browser). */
const SUBMIT_FORM = `(action, fields) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}`;

/** Submits a form built in the page (same origin) and returns the status of its answer. */
async function postFromPage(
  page: Page,
  action: string,
  fields: Record<string, string>,
): Promise<number> {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.evaluate(`(${SUBMIT_FORM})(${JSON.stringify(action)}, ${JSON.stringify(fields)})`),
  ]);
  assert.ok(response, `an answer to the form posted to ${action}`);
  return response.status();
}

/** An attacker's page: a form that posts itself to `target` as soon as it loads. */
function autoSubmitPage(target: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${attr(name)}" value="${attr(value)}">`)
    .join("");
  return `<!doctype html><title>You won a prize</title>
<form id="f" method="post" action="${attr(target)}">${inputs}</form>
<script>document.getElementById("f").submit();</script>`;
}

Deno.test("console in a browser: a user signs up, verifies, enrols TOTP, uses keys and codes; an admin disables them and reads the trail", async (t) => {
  const started = performance.now();
  await using srv = await startConsoleServer({ EMAIL_VERIFICATION: "required" });
  await using browser = await launchBrowser();
  const base = srv.url;
  const user = { email: emailFor("ada"), name: "Ada Lovelace", password: PASSWORD };
  const { page, context, watch } = await openPage(browser, {
    allowConfirm: /^Revoke this key/,
  });
  let secret = "";
  let recoveryCodes: string[] = [];
  let apiKey = "";
  let accessToken = "";
  const labels: string[] = [];

  await t.step("sign up in the browser", async () => {
    await visit(page, base, "/account/sign-up");
    assert.equal(await heading(page), "Create an account");
    await checkLabels(page, labels);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Name (optional)").fill(user.name);
    await page.getByLabel("Password").fill(user.password);
    await submit(page, "Create account");
    assert.equal(await heading(page), "Check your inbox");
  });

  await t.step("verify the email through the link page (token in the fragment)", async () => {
    const link = await emailLink(srv.dataDir, user.email, "verify-email");
    assert.ok(link.startsWith(`${base}/account/verify-email#token=`), link);
    await page.goto(link);
    assert.equal(await heading(page), "Confirm your email address");
    // The script moved the token into the form and out of the address bar.
    const token = link.split("#token=")[1];
    assert.equal(await page.getByLabel("Code from the email").inputValue(), token);
    assert.equal(page.url(), `${base}/account/verify-email`);
    await checkLabels(page, labels);
    await submit(page, "Confirm my address");
    assert.equal(await heading(page), "Email address confirmed");
  });

  await t.step("sign in with the password", async () => {
    await visit(page, base, "/account/sign-in");
    await screenshot(page, "sign-in");
    await checkLabels(page, labels);
    await signIn(page, base, user.email, user.password);
    assert.equal(await heading(page), "Your account");
    await page.getByText(user.email, { exact: true }).first().waitFor();
    assert.equal(await page.getByLabel("Name", { exact: true }).first().inputValue(), user.name);
    await screenshot(page, "account");
    await checkLabels(page, labels);
    await page.setViewportSize(PHONE);
    await screenshot(page, "account-phone");
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert.ok(overflow <= 0, `the account page fits a phone's width (overflow ${overflow}px)`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await t.step(
    "enrol TOTP with the secret shown on the page; keep the recovery codes",
    async () => {
      await visit(page, base, "/account");
      await page.locator('section[aria-labelledby="mfa"]').getByRole("button", { name: "Turn on" })
        .click();
      await page.waitForURL(`${base}/account/mfa/start`);
      assert.equal(await heading(page), "Turn on two-factor authentication");
      assert.ok(await page.locator(".qr svg").isVisible(), "the QR code is drawn");
      secret = (await page.locator("#totp-secret").textContent() ?? "").trim();
      assert.match(secret, /^[A-Z2-7]{16,}$/, "the key is shown as base32 text");
      assert.ok(await page.getByRole("button", { name: "Copy" }).isVisible(), "the copy button");
      await screenshot(page, "mfa-enrolment");
      await checkLabels(page, labels);
      await page.getByLabel("Code from your app").fill(totp(secret, Date.now()));
      await submit(page, "Turn on");
      assert.equal(await heading(page), "Your recovery codes");
      recoveryCodes = (await page.locator("#recovery-codes li").allTextContents()).map((c) =>
        c.trim()
      );
      assert.ok(recoveryCodes.length >= 5, `recovery codes shown: ${recoveryCodes.length}`);
    },
  );

  await t.step("sign out, then sign in with a TOTP code", async () => {
    await signOut(page);
    await signIn(page, base, user.email, user.password, { code: totp(secret, Date.now()) });
  });

  await t.step("sign out, then sign in with a recovery code", async () => {
    await signOut(page);
    await signIn(page, base, user.email, user.password, { recovery_code: recoveryCodes[0] });
    await page.getByText(`${recoveryCodes.length - 1} recovery codes left`).waitFor();
  });

  await t.step("create an API key, shown once, that works on GET /api/v1/me", async () => {
    await visit(page, base, "/account");
    const form = page.locator('form[action="/account/api-keys"]');
    await checkLabels(page, labels);
    // By name: the field's label points at the profile's Name while their ids collide.
    await form.locator('input[name="name"]').fill("deploy bot");
    await form.getByLabel("me:read").check();
    await form.getByLabel("Expires after (days)").fill("30");
    await submit(page, "Create key");
    assert.equal(await heading(page), "Your new API key");
    apiKey = (await page.locator("#api-key").textContent() ?? "").trim();
    assert.ok(apiKey.length >= 32, `the key is shown: ${apiKey.slice(0, 8)}...`);
    await screenshot(page, "api-key-created");
    const me = await apiCall(base, "GET", "/api/v1/me", { apiKey });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal((me.body.user as { email: string }).email, user.email);
    // Shown once: the account page lists the key without its secret.
    await visit(page, base, "/account");
    assert.equal(await page.getByText(apiKey).count(), 0, "the secret is not shown again");
  });

  await t.step("revoke the API key: it stops working", async () => {
    const row = page.locator("tr", { hasText: "deploy bot" });
    await Promise.all([
      page.waitForNavigation(),
      row.getByRole("button", { name: "Revoke" }).click(),
    ]);
    await page.getByText("The API key was revoked.").waitFor();
    // README: revoked everywhere within a second.
    assert.equal(
      await statusWithin(() => apiCall(base, "GET", "/api/v1/me", { apiKey }), 401),
      401,
    );
  });

  await t.step("change the password", async () => {
    const form = page.locator('form[action="/account/password"]');
    await form.getByLabel("Current password").fill(user.password);
    await form.getByLabel("New password").fill(NEW_PASSWORD);
    await submit(page, "Change password");
    await page.getByText("Your password was changed.").waitFor();
    user.password = NEW_PASSWORD;
    assert.equal((await apiLogin(base, user.email, PASSWORD)).status, 401, "old password refused");
    const session = await apiLogin(base, user.email, NEW_PASSWORD, {
      recovery_code: recoveryCodes[1],
    });
    assert.equal(session.status, 200, "the new password signs in");
    accessToken = session.accessToken!;
    assert.equal((await apiCall(base, "GET", "/api/v1/me", { bearer: accessToken })).status, 200);
  });

  const admin = await openPage(browser, { allowConfirm: /disable/i });
  let userId = "";

  await t.step("an admin finds the user by email prefix and opens their page", async () => {
    await signIn(admin.page, base, ADMIN.email, ADMIN.password);
    await visit(admin.page, base, "/admin/users");
    await admin.page.getByLabel(/email/i).first().fill(user.email.slice(0, 6));
    await submit(admin.page, /search|filter/i);
    const link = admin.page.getByRole("link", { name: user.email });
    await link.waitFor({ timeout: 5000 });
    await screenshot(admin.page, "admin-users");
    await checkLabels(admin.page, labels);
    await Promise.all([admin.page.waitForNavigation(), link.click()]);
    userId = new URL(admin.page.url()).pathname.split("/").pop() ?? "";
    assert.match(userId, /^[0-9a-f-]{36}$/, `a user page: ${admin.page.url()}`);
    await admin.page.getByText(user.email).first().waitFor();
    await screenshot(admin.page, "admin-user-detail");
    await checkLabels(admin.page, labels);
  });

  await t.step("the admin disables the user: their console and API sessions stop", async () => {
    await submit(admin.page, /^disable/i);
    assert.equal(
      (await admin.page.locator("dt:text-is('Status') + dd").textContent())?.trim(),
      "disabled",
    );
    await page.reload();
    assert.equal(new URL(page.url()).pathname, "/account/sign-in", "the user's console is gone");
    const me = () => apiCall(base, "GET", "/api/v1/me", { bearer: accessToken });
    assert.equal(await statusWithin(me, 401), 401, "the user's access token stops");
    const again = await apiLogin(base, user.email, user.password);
    assert.notEqual(again.status, 200, "a disabled user cannot sign in");
  });

  await t.step("the admin reads the audit trail of all of it", async () => {
    // Everything about the user (their own acts, the sign-up and link by anonymous, the
    // admin's disable): the whole log, which is one page on this fresh server.
    await visit(admin.page, base, "/admin/audit");
    assert.equal(await heading(admin.page), "Audit log");
    await checkLabels(admin.page, labels);
    await screenshot(admin.page, "admin-audit", { fullPage: false });
    const rows = await admin.page.locator("main table tbody tr").allInnerTexts();
    const about = rows.filter((row) => row.includes(userId) || row.includes(user.email));
    const missing = [
      "user.registered",
      "user.email_verified",
      "auth.login.succeeded",
      "mfa.enrolled",
      "mfa.recovery_code_used",
      "auth.logout",
      "api_key.created",
      "api_key.revoked",
      "user.password_changed",
      "user.disabled",
    ].filter((action) => !about.some((row) => row.replace(/\s+/g, "").includes(action)));
    assert.deepEqual(missing, [], `actions missing from the user's rows of /admin/audit`);
    // The user's own acts, through the detail page's filter.
    await visit(admin.page, base, `/admin/audit?actor=${userId}`);
    const own = (await admin.page.locator("main table tbody tr").allInnerTexts()).join("\n")
      .replace(/\s+/g, "");
    for (const action of ["mfa.enrolled", "api_key.created", "user.password_changed"]) {
      assert.ok(own.includes(action), `${action} by the user`);
    }
  });

  await t.step("the admin opens the check report", async () => {
    const response = await visit(admin.page, base, "/admin/check");
    assert.equal(response.status(), 200);
    assert.match(await heading(admin.page), /check/i);
    assert.match(await admin.page.locator("main").innerText(), /pass|warn|fail|ok/i);
    await screenshot(admin.page, "admin-check");
    await checkLabels(admin.page, labels);
  });

  await t.step("every input of every page had a label of its own (unique ids)", () => {
    assert.deepEqual(labels, []);
  });

  await t.step("no console error, exception, CSP violation or dialog in either browser", () => {
    assertClean(watch, "the user's browser");
    assertClean(admin.watch, "the admin's browser");
  });
  await admin.context.close();
  await context.close();
  console.log(`scenario: ${Math.round(performance.now() - started)} ms`);
});

Deno.test("console in a browser: a cross-site form POST is refused and changes nothing", async () => {
  await using srv = await startConsoleServer();
  await using browser = await launchBrowser();
  const base = srv.url;
  const victim = await registered(base, "victim");
  const { page, watch } = await openPage(browser, { expect: /status of 403/ });
  await signIn(page, base, victim.email, PASSWORD);
  const leaked = await csrfOfForm(page, "/account/password");
  const change = { current_password: PASSWORD, new_password: NEW_PASSWORD };
  const pages: Record<string, string> = {
    "/no-token": autoSubmitPage(`${base}/account/password`, change),
    "/leaked-token": autoSubmitPage(`${base}/account/password`, { _csrf: leaked, ...change }),
  };
  await using evil = foreignSite(pages);

  for (const path of Object.keys(pages)) {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/account/password`),
      page.goto(`${evil.origin}${path}`),
    ]);
    // Same site (127.0.0.1), other origin: the SameSite=Strict cookie goes along, and only the
    // console's Origin and token checks stand in the way.
    assert.equal(response.status(), 403, `${path}: ${await response.text()}`);
    assert.equal((await apiLogin(base, victim.email, PASSWORD)).status, 200, `${path}: unchanged`);
  }

  // The admin's disable form, posted from the other origin: the user stays active.
  const target = await registered(base, "target");
  const admin = await openPage(browser, { expect: /status of 403/ });
  await signIn(admin.page, base, ADMIN.email, ADMIN.password);
  await visit(admin.page, base, `/admin/users/${target.id}`);
  const form = admin.page.locator("form", {
    has: admin.page.getByRole("button", { name: /^disable/i }),
  });
  const action = new URL(await form.getAttribute("action") ?? "", base).href;
  const fields: Record<string, string> = {};
  for (const input of await form.locator("input[type=hidden]").all()) {
    fields[await input.getAttribute("name") ?? ""] = await input.inputValue();
  }
  pages["/disable"] = autoSubmitPage(action, fields);
  const [response] = await Promise.all([
    admin.page.waitForResponse((r) => r.url() === action),
    admin.page.goto(`${evil.origin}/disable`),
  ]);
  assert.equal(response.status(), 403);
  const token = (await apiLogin(base, ADMIN.email, ADMIN.password)).accessToken;
  const after = await apiCall(base, "GET", `/api/v1/admin/users/${target.id}`, { bearer: token });
  assert.equal((after.body.user as { status: string }).status, "active");

  // The control: the same change from the console's own page goes through.
  await visit(page, base, "/account");
  assert.equal(
    await postFromPage(page, "/account/password", {
      _csrf: await csrfOfForm(page, "/account/password"),
      ...change,
    }),
    200,
  );
  assert.equal((await apiLogin(base, victim.email, NEW_PASSWORD)).status, 200, "the control");
  assertClean(watch);
  assertClean(admin.watch);
});

Deno.test("console in a browser: a form POST without the token, or with another session's, is refused", async () => {
  await using srv = await startConsoleServer();
  await using browser = await launchBrowser();
  const base = srv.url;
  const alice = await registered(base, "alice");
  const bob = await registered(base, "bob");
  const a = await openPage(browser, { expect: /status of 403/ });
  const b = await openPage(browser);
  await signIn(a.page, base, alice.email, PASSWORD);
  await signIn(b.page, base, bob.email, PASSWORD);
  const change = { current_password: PASSWORD, new_password: NEW_PASSWORD };
  const bobsToken = await csrfOfForm(b.page, "/account/password");
  const anonymous = await openPage(browser);
  await visit(anonymous.page, base, "/account/sign-in");
  const anonymousToken = await anonymous.page.locator('input[name="_csrf"]').first().inputValue();

  for (
    const [what, fields] of [
      ["no token", change],
      ["an empty token", { _csrf: "", ...change }],
      ["the token of another user's session", { _csrf: bobsToken, ...change }],
      ["the token of a signed-out browser", { _csrf: anonymousToken, ...change }],
    ] as const
  ) {
    await visit(a.page, base, "/account");
    assert.equal(await postFromPage(a.page, "/account/password", fields), 403, what);
    assert.equal((await apiLogin(base, alice.email, PASSWORD)).status, 200, `${what}: unchanged`);
  }

  // Outside a browser: Alice's cookie with Bob's token and the right Origin.
  const cookie = (await a.context.cookies()).find((c) => c.name === "__Host-citadel_console")!;
  const replay = await fetch(`${base}/account/password`, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie: `${cookie.name}=${cookie.value}`,
      origin: base,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ _csrf: bobsToken, ...change }),
  });
  assert.equal(replay.status, 403, await replay.text());
  assert.equal((await apiLogin(base, alice.email, PASSWORD)).status, 200, "unchanged");
  assertClean(a.watch);
  assertClean(b.watch);
  assertClean(anonymous.watch);
});

Deno.test("console in a browser: framing by another origin is refused (clickjacking)", async () => {
  await using srv = await startConsoleServer();
  await using browser = await launchBrowser();
  const base = srv.url;
  const user = await registered(base, "framed");
  const { page, watch } = await openPage(browser, {
    expect: /frame-ancestors|chrome-error:\/\/chromewebdata/,
  });
  await signIn(page, base, user.email, PASSWORD);
  const paths = ["/account", "/account/sign-in", "/admin/users"];
  await using evil = foreignSite({
    "/frame": `<!doctype html><title>Click here</title>${
      paths.map((p) => `<iframe src="${base}${p}" width="600" height="400"></iframe>`).join("")
    }`,
  });
  await page.goto(`${evil.origin}/frame`);
  await page.waitForLoadState("load");
  const frames = page.frames().filter((f) => f !== page.mainFrame());
  assert.equal(frames.length, paths.length);
  for (const frame of frames) {
    const text = await frame.locator("body").innerText({ timeout: 2000 }).catch(() => "");
    assert.ok(!/citadel|account|sign in/i.test(text), `a framed console page showed: ${text}`);
    assert.ok(!frame.url().startsWith(base), `the frame stayed off the console: ${frame.url()}`);
  }
  assert.ok(
    watch.expected.some((m) => m.includes("frame-ancestors")),
    `the browser says why: ${watch.expected.join(" | ")}`,
  );
  for (const path of paths) {
    const res = await fetch(`${base}${path}`, { redirect: "manual" });
    await res.body?.cancel();
    assert.match(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/, path);
    assert.equal(res.headers.get("x-frame-options"), "DENY", path);
  }
  assertClean(watch);
});

Deno.test("console in a browser: a user name and an API key name are shown as text on the admin pages (stored XSS)", async () => {
  await using srv = await startConsoleServer();
  await using browser = await launchBrowser();
  const base = srv.url;
  const mallory = await registered(base, "mallory", XSS);
  const session = await apiLogin(base, mallory.email, PASSWORD);
  const key = await apiCall(base, "POST", "/api/v1/api-keys", {
    bearer: session.accessToken,
    body: { name: XSS, scopes: ["me:read"], expires_in_days: 30 },
  });
  assert.equal(key.status, 201, JSON.stringify(key.body));

  const admin = await openPage(browser);
  await signIn(admin.page, base, ADMIN.email, ADMIN.password);
  for (const path of ["/admin/users", `/admin/users/${mallory.id}`, "/admin/api-keys"]) {
    const response = await visit(admin.page, base, path);
    assert.equal(response.status(), 200, path);
    await admin.page.waitForLoadState("load");
    assert.ok(
      await admin.page.getByText(XSS).count() > 0,
      `${path} shows the name as text`,
    );
    assert.equal(await admin.page.locator('img[src="x"]').count(), 0, `${path}: no injected img`);
  }
  assertClean(admin.watch, "the admin's browser");
});

Deno.test("console in a browser: a session cookie replayed after sign-out opens nothing", async () => {
  await using srv = await startConsoleServer();
  await using browser = await launchBrowser();
  const base = srv.url;
  const user = await registered(base, "replay");
  const { page, context, watch } = await openPage(browser);
  await signIn(page, base, user.email, PASSWORD);
  const cookie = (await context.cookies()).find((c) => c.name === "__Host-citadel_console");
  assert.ok(cookie, "the console session cookie");
  const get = () =>
    fetch(`${base}/account`, {
      redirect: "manual",
      headers: { cookie: `${cookie.name}=${cookie.value}` },
    });
  const before = await get();
  assert.equal(before.status, 200);
  assert.ok((await before.text()).includes(user.email), "the cookie opened the account");
  await signOut(page);

  const after = await get();
  const body = await after.text();
  assert.equal(after.status, 303);
  assert.match(after.headers.get("location") ?? "", /^\/account\/sign-in/);
  assert.ok(!body.includes(user.email), "no account data");
  // Put back into the browser, it still opens nothing.
  await context.addCookies([cookie]);
  await visit(page, base, "/account");
  assert.equal(new URL(page.url()).pathname, "/account/sign-in");
  assertClean(watch);
});

Deno.test("console in a browser: /admin from outside ADMIN_ALLOWED_IPS is the same 404 as an unknown route", async () => {
  await using srv = await startConsoleServer({ ADMIN_ALLOWED_IPS: "10.0.0.0/8" });
  await using browser = await launchBrowser();
  const base = srv.url;
  const { page, watch } = await openPage(browser, { expect: /status of 404/ });
  await signIn(page, base, ADMIN.email, ADMIN.password);
  const unknown = await visit(page, base, "/no-such-page");
  const unknownBody = await unknown.text();
  for (const path of ["/admin", "/admin/users", "/admin/audit", "/admin/check"]) {
    const res = await visit(page, base, path);
    assert.equal(res.status(), 404, path);
    assert.equal(res.headers()["content-type"], unknown.headers()["content-type"], path);
    assert.equal(normalised(await res.text()), normalised(unknownBody), path);
  }
  const token = (await apiLogin(base, ADMIN.email, ADMIN.password)).accessToken;
  const api = await apiCall(base, "GET", "/api/v1/admin/users", { bearer: token });
  const none = await apiCall(base, "GET", "/api/v1/no-such-route", { bearer: token });
  assert.equal(api.status, 404);
  assert.deepEqual(normalisedJson(api.body), normalisedJson(none.body));
  assertClean(watch);
});

/** A body with its request ids and paths blanked, for comparing two 404s. */
function normalised(text: string): string {
  return text.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<id>").replace(/"instance":"[^"]*"/g, "");
}

function normalisedJson(body: Record<string, unknown>): Record<string, unknown> {
  const { instance: _instance, request_id: _id, ...rest } = body;
  return rest;
}
