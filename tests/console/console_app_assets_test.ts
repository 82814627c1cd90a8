/**
 * The browser half of WebAuthn as a console asset: served by citadel (the embedded bundle, as
 * JavaScript, cached like the other assets), loaded only by the pages that run a passkey
 * ceremony, with the page's nonce and allowed by its policy (`script-src 'self'`, no inline
 * script anywhere); every asset linked by a versioned address (`?v=` of its content), so an
 * upgrade never pairs one version's script with another's; and the console script speaks the
 * CSRF header the endpoints read.
 */
import assert from "node:assert/strict";
import { ASSET_HREF, contentVersion, SCRIPT } from "../../src/console/assets.ts";
import { CSRF_HEADER } from "../../src/console/context.ts";
import { SIMPLEWEBAUTHN_BROWSER } from "../../src/console/vendor/simplewebauthn_browser.ts";
import { PUBLIC_CACHE_CONTROL } from "../../src/middleware/secure_headers.ts";
import { registerUser } from "../support/auth_support.ts";
import { consoleAdmin, getPage, signIn } from "../support/console_support.ts";
import { buildTestApp } from "../support/helpers.ts";

const WEBAUTHN_JS = "/console/simplewebauthn-browser.js";
/** A linked asset's address: its path and the version of its content. */
const VERSIONED = /^(\/console\/[a-z-]+\.(?:js|css))\?v=([0-9a-f]{16})$/;

Deno.test("/console/simplewebauthn-browser.js is the embedded bundle, as JavaScript, nosniff, cached like the other assets", async () => {
  const t = await buildTestApp();
  try {
    const res = await getPage(t, WEBAUTHN_JS);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("cache-control"), PUBLIC_CACHE_CONTROL);
    const app = await getPage(t, "/console/app.js");
    assert.equal(res.headers.get("cache-control"), app.headers.get("cache-control"));
    await app.body?.cancel();
    assert.ok((await res.text()) === SIMPLEWEBAUTHN_BROWSER, "the embedded bundle, unchanged");
  } finally {
    await t.close();
  }
});

Deno.test("only the pages with a passkey ceremony load the WebAuthn script, before the console script, with the page's nonce, under a policy that allows it; no page has an inline script", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const admin = await consoleAdmin(t, "admin");
    const cases: Array<[string, string | undefined, boolean]> = [
      ["/account/sign-in", undefined, true],
      ["/account", cookie, true],
      ["/account/reauthenticate", cookie, false], // no passkey yet: the password only
      ["/account/forgot-password", undefined, false],
      ["/account/sign-up", undefined, false],
      ["/admin/users", admin.cookie, false],
      [`/admin/users/${user.id}`, admin.cookie, false],
    ];
    for (const [path, session, loads] of cases) {
      const res = await getPage(t, path, session);
      assert.equal(res.status, 200, path);
      const html = await res.text();
      const policy = res.headers.get("content-security-policy") ?? "";
      const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
      assert.ok(nonce, `${path}: a nonce policy`);
      assert.match(policy, new RegExp(`script-src 'self' 'nonce-${nonce}'(;|$)`), path);
      const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
      for (const attrs of scripts) {
        assert.match(
          attrs,
          / src="\/console\/[a-z-]+\.js\?v=[0-9a-f]{16}"/,
          `${path}: only citadel's script files, versioned`,
        );
        assert.ok(attrs.includes(` nonce="${nonce}"`), `${path}: every script has the nonce`);
      }
      const sources = scripts.map((attrs) => / src="([^"?]+)/.exec(attrs)![1]);
      assert.deepEqual(
        sources,
        loads ? [WEBAUTHN_JS, "/console/app.js"] : ["/console/app.js"],
        path,
      );
    }
  } finally {
    await t.close();
  }
});

Deno.test("a page links the stylesheet and both scripts with ?v= of the content served there; the asset routes take any version (or none) and serve the current one", async () => {
  const t = await buildTestApp();
  try {
    const { html } = await getPage(t, "/account/sign-in").then(async (r) => ({
      html: await r.text(),
    }));
    const linked = [
      /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1],
      ...[...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]),
    ];
    assert.deepEqual(linked, [ASSET_HREF.style, ASSET_HREF.webauthn, ASSET_HREF.script]);
    for (const href of linked) {
      const [, path, version] = VERSIONED.exec(href ?? "") ?? [];
      assert.ok(path && version, `${href}: a path and a version`);
      const served = await (await getPage(t, href!)).text();
      assert.equal(contentVersion(served), version, `${href}: the version of what is served`);
      for (const other of [path, `${path}?v=0000000000000000`, `${path}?v=old&x=1`]) {
        const res = await getPage(t, other);
        assert.equal(res.status, 200, other);
        assert.equal(await res.text(), served, `${other}: the current content`);
      }
    }
    assert.notEqual(contentVersion(SCRIPT), contentVersion(`${SCRIPT} `), "content decides");
  } finally {
    await t.close();
  }
});

Deno.test("a console page lets its own origin use WebAuthn (Permissions-Policy publickey-credentials-create and -get = (self)); the API keeps denying both", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const cookie = await signIn(t, user.email);
    const pages: Array<[string, string | undefined]> = [
      ["/account/sign-in", undefined],
      ["/account", cookie],
    ];
    for (const [path, session] of pages) {
      const res = await getPage(t, path, session);
      await res.body?.cancel();
      const policy = res.headers.get("permissions-policy") ?? "";
      assert.match(policy, /(^|, )publickey-credentials-create=\(self\)(,|$)/, path);
      assert.match(policy, /(^|, )publickey-credentials-get=\(self\)(,|$)/, path);
      assert.match(policy, /(^|, )camera=\(\)(,|$)/, `${path}: the rest stays denied`);
    }
    const api = await getPage(t, "/health");
    await api.body?.cancel();
    assert.match(api.headers.get("permissions-policy") ?? "", /publickey-credentials-get=\(\)/);
  } finally {
    await t.close();
  }
});

Deno.test("the console script sends the CSRF token in the header the ceremony endpoints read, and reveals a ceremony only where WebAuthn exists", () => {
  assert.ok(SCRIPT.includes(`"${CSRF_HEADER}": csrf`), CSRF_HEADER);
  assert.match(SCRIPT, /window\.PublicKeyCredential && window\.SimpleWebAuthnBrowser/);
  assert.match(SCRIPT, /form\[data-passkey\]/);
  // A script in a template literal: nothing in it may close or interpolate the literal.
  assert.doesNotThrow(() => new Function(SCRIPT));
});
