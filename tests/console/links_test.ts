/**
 * The pages the email links open (issue 19, on the flows of issue 18): each renders under
 * the nonce CSP with a labelled code field the script fills from `#token=`; each flow
 * completes through its page (the API's effect happens); a dead link, a weak password,
 * production without email and the link requests answer as they should; a cross-site or
 * token-less POST is refused and changes nothing.
 */
import assert from "node:assert/strict";
import { ASSET_HREF } from "../../src/console/assets.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/auth_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";
import { authPost, latestToken, outbox, userRow } from "../support/email_support.ts";

const NEW_PASSWORD = "Velvet-Harbor-Comet-58?";
const DEAD_LINK = "This link is unknown, expired or already used: ask for a new one.";
const SENT = "If an account uses this address, a message is on its way to it.";

/** A browser's cookies for the console, kept across requests. */
type Jar = Map<string, string>;

function keep(jar: Jar, res: Response): void {
  for (const cookie of res.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
}

function cookieHeader(jar: Jar): Record<string, string> {
  return jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } : {};
}

/** GETs a console page as the browser of `jar`; answers the response and its HTML. */
async function getPage(t: TestApp, path: string, jar: Jar, ip = "127.0.0.1") {
  const res = await t.app.request(`http://localhost${path}`, { headers: cookieHeader(jar) }, {
    remoteAddr: { hostname: ip },
  });
  keep(jar, res);
  return { res, html: await res.text() };
}

/** The CSRF token of a page's forms. */
function csrfOf(html: string): string {
  const match = html.match(/name="_csrf" value="([^"]+)"/);
  assert.ok(match, "the page has a CSRF field");
  return match[1];
}

/** POSTs a form as the browser of `jar`, from this origin unless told otherwise. */
async function postForm(
  t: TestApp,
  path: string,
  fields: Record<string, string>,
  jar: Jar,
  options: { origin?: string | null; ip?: string } = {},
) {
  const body = new URLSearchParams(fields).toString();
  const headers: Record<string, string> = {
    ...cookieHeader(jar),
    "content-type": "application/x-www-form-urlencoded",
    "content-length": String(new TextEncoder().encode(body).length),
  };
  if (options.origin !== null) headers.origin = options.origin ?? "http://localhost";
  const res = await t.app.request(`http://localhost${path}`, { method: "POST", headers, body }, {
    remoteAddr: { hostname: options.ip ?? "127.0.0.1" },
  });
  keep(jar, res);
  return { res, html: await res.text() };
}

/** Opens `path` as a fresh browser, then submits its form with `fields`. */
async function submit(
  t: TestApp,
  path: string,
  fields: Record<string, string>,
  options: { ip?: string; jar?: Jar } = {},
) {
  const jar = options.jar ?? new Map();
  const page = await getPage(t, path, jar, options.ip);
  assert.equal(page.res.status, 200, page.html);
  return {
    jar,
    ...await postForm(t, path, { _csrf: csrfOf(page.html), ...fields }, jar, options),
  };
}

/** Follows a 303 of the console and answers the page it leads to. */
async function follow(t: TestApp, res: Response, jar: Jar) {
  assert.equal(res.status, 303);
  const location = res.headers.get("location")!;
  assert.match(location, /^\/account\//);
  return await getPage(t, location, jar);
}

/** The plain text of a page's main part, for reading what it says. */
function mainText(html: string): string {
  const main = html.slice(html.indexOf("<main"), html.indexOf("</main>"));
  return main.replace(/<[^>]+>/g, " ").replace(/&#39;/g, "'").replace(/\s+/g, " ").trim();
}

/** A registered user whose registration message is dropped. */
async function freshUser(t: TestApp) {
  const user = await registerUser(t, uniqueEmail("links"));
  await t.deps.db.deleteFrom("email_outbox").execute();
  return user;
}

const PAGES = [
  { path: "/account/verify-email", code: true },
  { path: "/account/reset-password", code: true, password: true },
  { path: "/account/confirm-email-change", code: true },
  { path: "/account/unlock", code: true },
  { path: "/account/forgot-password", email: true },
  { path: "/account/verify-email/request", email: true },
];

Deno.test("every link page renders under a nonce CSP, no-store, with labelled inputs and the CSRF field", async () => {
  const t = await buildTestApp();
  try {
    for (const page of PAGES) {
      const { res, html } = await getPage(t, page.path, new Map());
      assert.equal(res.status, 200, page.path);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      assert.equal(res.headers.get("cache-control"), "no-store", page.path);
      const csp = res.headers.get("content-security-policy") ?? "";
      const nonce = csp.match(/script-src 'self' 'nonce-([^']+)'/)?.[1];
      assert.ok(nonce, `${page.path}: ${csp}`);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.ok(html.includes(`<script src="${ASSET_HREF.script}" nonce="${nonce}"`), page.path);
      assert.doesNotMatch(html, /<script>|\son[a-z]+=|style=/, "no inline script, handler, style");
      assert.ok(res.headers.getSetCookie().some((c) => c.startsWith("__Host-citadel_csrf=")));
      csrfOf(html);
      assert.match(html, new RegExp(`<form method="post" action="${page.path}">`));

      // Every input but the hidden ones has a label.
      const inputs = [...html.matchAll(/<input [^>]*>/g)].map((m) => m[0]);
      for (const input of inputs.filter((i) => !i.includes('type="hidden"'))) {
        const id = input.match(/id="([^"]+)"/)?.[1];
        assert.ok(id && html.includes(`<label for="${id}">`), `${page.path}: ${input}`);
      }
      if (page.code) {
        const code = inputs.find((i) => i.includes('name="token"'));
        assert.ok(code, page.path);
        assert.match(code, /data-from-fragment/);
        assert.match(code, /autocomplete="off"/);
        assert.ok(html.includes('<label for="f-token">Code from the email</label>'));
      }
      const password = inputs.find((i) => i.includes('name="new_password"'));
      assert.equal(password !== undefined, page.password === true, page.path);
      if (password) {
        assert.match(password, /type="password"/);
        assert.match(password, /autocomplete="new-password"/);
      }
      const email = inputs.find((i) => i.includes('name="email"'));
      assert.equal(email !== undefined, page.email === true, page.path);
      if (email) assert.match(email, /type="email"/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("verify-email: the page posts the link's code to the API, the address is verified, and the done page says so with a link to sign in", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t, uniqueEmail("verify"));
    assert.equal((await userRow(t, user.email)).email_verified_at, null);
    const token = await latestToken(t, user.email, "verify_email");

    const { res, jar } = await submit(t, "/account/verify-email", { token });
    assert.equal(res.headers.get("location"), "/account/verify-email?done=1");
    assert.notEqual((await userRow(t, user.email)).email_verified_at, null);
    const me = await authed(t, "GET", "/api/v1/me", (await login(t, user.email)).access_token);
    assert.equal((await me.json()).user.email_verified, true, "the API says so too");

    const done = await follow(t, res, jar);
    assert.equal(done.res.status, 200);
    assert.match(mainText(done.html), /Your email address is confirmed\./);
    assert.ok(done.html.includes('<a href="/account/sign-in">Sign in</a>'));

    // The link is spent: a second use gets the friendly message.
    const again = await submit(t, "/account/verify-email", { token });
    assert.equal(again.res.status, 400);
    assert.ok(mainText(again.html).includes(DEAD_LINK));
  } finally {
    await t.close();
  }
});

Deno.test("forgot-password then reset-password through the pages: the new password signs in, the old one no longer does", async () => {
  const t = await buildTestApp();
  try {
    const user = await freshUser(t);
    const asked = await submit(t, "/account/forgot-password", { email: user.email });
    const sent = await follow(t, asked.res, asked.jar);
    assert.ok(mainText(sent.html).includes(SENT));
    const token = await latestToken(t, user.email, "password_reset");

    const { res, jar } = await submit(t, "/account/reset-password", {
      token,
      new_password: NEW_PASSWORD,
    });
    assert.equal(res.headers.get("location"), "/account/reset-password?done=1");
    const done = await follow(t, res, jar);
    assert.match(mainText(done.html), /Your password was changed/);
    assert.ok(done.html.includes('href="/account/sign-in"'));

    await login(t, user.email, NEW_PASSWORD);
    const old = await authPost(t, "login", { email: user.email, password: STRONG_PASSWORD });
    assert.equal(old.status, 401);
  } finally {
    await t.close();
  }
});

Deno.test("reset-password with a weak password answers 422 with the policy's error next to the field and the code kept in the form; the link still works after", async () => {
  const t = await buildTestApp();
  try {
    const user = await freshUser(t);
    await authPost(t, "password-reset/request", { email: user.email });
    const token = await latestToken(t, user.email, "password_reset");

    const weak = await submit(t, "/account/reset-password", { token, new_password: "short" });
    assert.equal(weak.res.status, 422, weak.html);
    const field = weak.html.match(/<input id="f-new_password"[^>]*>/)?.[0] ?? "";
    assert.match(field, /aria-invalid="true"/);
    assert.match(field, /aria-describedby="f-new_password-error"/);
    assert.match(weak.html, /<p class="error" id="f-new_password-error" role="alert">[^<]+<\/p>/);
    assert.ok(weak.html.includes(`value="${token}"`), "the code stays in the form");
    assert.doesNotMatch(weak.html, /value="short"/, "the password is not sent back");
    await login(t, user.email, STRONG_PASSWORD);

    // The same form again, with the code it kept and a strong password.
    const retry = await postForm(t, "/account/reset-password", {
      _csrf: csrfOf(weak.html),
      token,
      new_password: NEW_PASSWORD,
    }, weak.jar);
    assert.equal(retry.res.status, 303, retry.html);
    await login(t, user.email, NEW_PASSWORD);
  } finally {
    await t.close();
  }
});

Deno.test("confirm-email-change: a change asked through the API is confirmed through the page; the account moves to the new address", async () => {
  const t = await buildTestApp();
  try {
    const user = await freshUser(t);
    const newEmail = uniqueEmail("moved");
    const asked = await authed(
      t,
      "POST",
      "/api/v1/me/email",
      (await login(t, user.email))
        .access_token,
      { new_email: newEmail, password: STRONG_PASSWORD },
    );
    assert.equal(asked.status, 202, await asked.clone().text());
    const token = await latestToken(t, newEmail, "email_change_confirm");

    const { res, jar } = await submit(t, "/account/confirm-email-change", { token });
    assert.equal(res.headers.get("location"), "/account/confirm-email-change?done=1");
    const moved = await userRow(t, newEmail);
    assert.equal(moved.id, user.id);
    assert.notEqual(moved.email_verified_at, null);
    await login(t, newEmail);
    const done = await follow(t, res, jar);
    assert.match(mainText(done.html), /Your account now uses the new address/);
  } finally {
    await t.close();
  }
});

Deno.test("unlock: the page turns the link into this browser's device cookie, which signs the owner in while the attack goes on", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({ LOGIN_EMAIL_MAX_ATTEMPTS: "3" }, { clock });
  try {
    const user = await freshUser(t);
    for (let i = 0; i < 4; i++) {
      await authPost(
        t,
        "login",
        { email: user.email, password: "Wrong-Password-123!" },
        `10.9.${i}.7`,
      );
    }
    const token = await latestToken(t, user.email, "unlock");
    const blocked = await authPost(
      t,
      "login",
      { email: user.email, password: STRONG_PASSWORD },
      "10.8.1.7",
    );
    assert.equal(blocked.status, 429, "the owner on a new network is refused");

    const { res, jar } = await submit(t, "/account/unlock", { token }, { ip: "10.8.1.7" });
    assert.equal(res.status, 303, await res.clone().text());
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-citadel_device="));
    assert.ok(cookie, "the device cookie of the API's answer is on the console's answer");
    assert.match(cookie, /; HttpOnly/i);
    assert.match(cookie, /; Secure/i);
    assert.match(cookie, /; SameSite=Strict/i);
    const deviceToken = jar.get("__Host-citadel_device")!;

    const done = await follow(t, res, jar);
    assert.match(
      mainText(done.html),
      /This browser can now sign in while the attack goes on\./,
    );
    const signIn = await authPost(t, "login", {
      email: user.email,
      password: STRONG_PASSWORD,
      device_token: deviceToken,
    }, "10.8.1.7");
    assert.equal(signIn.status, 200, await signIn.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("a bad or spent code answers 400 with the friendly message and a link to where a new one comes from", async () => {
  const t = await buildTestApp();
  try {
    const cases = [
      ["/account/verify-email", "/account/verify-email/request"],
      ["/account/reset-password", "/account/forgot-password"],
      ["/account/confirm-email-change", "/account"],
      ["/account/unlock", "/account/sign-in"],
    ];
    for (const [path, again] of cases) {
      const fields: Record<string, string> = { token: "A".repeat(43) };
      if (path.endsWith("reset-password")) fields.new_password = NEW_PASSWORD;
      const { res, html } = await submit(t, path, fields);
      assert.equal(res.status, 400, path);
      assert.ok(mainText(html).includes(DEAD_LINK), `${path}: ${mainText(html)}`);
      assert.match(html, new RegExp(`role="alert">[^]*<a href="${again}">`), path);
      assert.doesNotMatch(html, /value="A{43}"/, "the dead code is not offered again");
      assert.match(html, /data-from-fragment/, "the form is there for a new code");
    }
  } finally {
    await t.close();
  }
});

Deno.test("forgot-password and verify-email/request answer the same redirect and page for a known and an unknown address; only the known one gets a message", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await freshUser(t);
    for (
      const [path, kind] of [["/account/forgot-password", "password_reset"], [
        "/account/verify-email/request",
        "verify_email",
      ]]
    ) {
      clock.advance(61_000);
      const pages: string[] = [];
      for (const email of [user.email, uniqueEmail("nobody")]) {
        const { res, jar } = await submit(t, path, { email });
        assert.equal(res.headers.get("location"), `${path}?done=1`, path);
        const sent = await follow(t, res, jar);
        assert.equal(sent.res.status, 200);
        pages.push(mainText(sent.html));
      }
      assert.equal(pages[0], pages[1], path);
      assert.ok(pages[0].includes(SENT), pages[0]);
      assert.equal((await outbox(t, { kind })).length, 1, path);
      assert.equal((await outbox(t, { kind, to: user.email })).length, 1, path);
    }
  } finally {
    await t.close();
  }
});

Deno.test("a malformed address on a request page answers 422 with the error next to the email field", async () => {
  const t = await buildTestApp();
  try {
    const { res, html } = await submit(t, "/account/forgot-password", { email: "not-an-address" });
    assert.equal(res.status, 422);
    assert.match(html, /<p class="error" id="f-email-error" role="alert">[^<]+<\/p>/);
    assert.ok(html.includes('value="not-an-address"'));
    assert.equal((await outbox(t)).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("a POST from a foreign origin or without the CSRF token is refused 403 and changes nothing", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t, uniqueEmail("csrf"));
    const token = await latestToken(t, user.email, "verify_email");
    const jar: Jar = new Map();
    const page = await getPage(t, "/account/verify-email", jar);
    const csrf = csrfOf(page.html);

    const foreign = await postForm(t, "/account/verify-email", { _csrf: csrf, token }, jar, {
      origin: "https://evil.example",
    });
    assert.equal(foreign.res.status, 403);
    const noOrigin = await postForm(t, "/account/verify-email", { _csrf: csrf, token }, jar, {
      origin: null,
    });
    assert.equal(noOrigin.res.status, 403);
    const noToken = await postForm(t, "/account/verify-email", { token }, jar);
    assert.equal(noToken.res.status, 403);
    const otherBrowser = await postForm(
      t,
      "/account/verify-email",
      { _csrf: csrf, token },
      new Map(),
    );
    assert.equal(otherBrowser.res.status, 403, "a token of another browser");
    assert.equal((await userRow(t, user.email)).email_verified_at, null, "not verified");

    const asked = await postForm(t, "/account/forgot-password", { email: user.email }, jar, {
      origin: "https://evil.example",
    });
    assert.equal(asked.res.status, 403);
    assert.equal((await outbox(t, { kind: "password_reset" })).length, 0, "nothing queued");

    // The link was not spent by the refused posts.
    const real = await postForm(t, "/account/verify-email", { _csrf: csrf, token }, jar);
    assert.equal(real.res.status, 303);
    assert.notEqual((await userRow(t, user.email)).email_verified_at, null);
  } finally {
    await t.close();
  }
});

Deno.test("in production without SMTP_URL the link pages say that email is not configured (503)", async () => {
  const secret = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(48))));
  const t = await buildTestApp({
    APP_ENV: "production",
    JWT_SECRET_KEY: secret(),
    HASH_PEPPER: secret(),
    ALLOWED_HOSTS: "localhost",
    CORS_ORIGINS: "https://app.example.com",
    TRUSTED_PROXIES: "127.0.0.1",
  });
  try {
    for (
      const [path, fields] of [
        ["/account/verify-email", { token: "A".repeat(43) }],
        ["/account/forgot-password", { email: "ada@example.com" }],
      ] as const
    ) {
      const { res, html } = await submit(t, path, fields);
      assert.equal(res.status, 503, path);
      assert.match(mainText(html), /cannot send email \(it is not configured\)/, path);
    }
  } finally {
    await t.close();
  }
});
