/**
 * The embedded browser half of WebAuthn is the installed package's bundle, byte for byte: after
 * an upgrade of @simplewebauthn/browser this fails until scripts/vendor_webauthn_browser.ts is
 * run again.
 */
import assert from "node:assert/strict";
import {
  SIMPLEWEBAUTHN_BROWSER,
  SIMPLEWEBAUTHN_BROWSER_VERSION,
} from "../../../src/console/vendor/simplewebauthn_browser.ts";

const packageFile = (path: string) => new URL(path, import.meta.resolve("@simplewebauthn/browser"));

Deno.test("the embedded @simplewebauthn/browser is the installed package's UMD bundle and version (run scripts/vendor_webauthn_browser.ts after an upgrade)", async () => {
  const installed = await Deno.readTextFile(packageFile("../dist/bundle/index.umd.min.js"));
  const manifest = JSON.parse(await Deno.readTextFile(packageFile("../package.json")));
  assert.equal(SIMPLEWEBAUTHN_BROWSER_VERSION, manifest.version);
  assert.ok(
    SIMPLEWEBAUTHN_BROWSER === installed,
    "the embedded bundle differs from the installed one",
  );
});

Deno.test("the embedded bundle defines the global SimpleWebAuthnBrowser with the ceremonies the console calls", () => {
  // Without a module system the UMD bundle sets its global on globalThis, as in a page.
  const global = globalThis as Record<string, unknown>;
  new Function(SIMPLEWEBAUTHN_BROWSER)();
  const lib = global.SimpleWebAuthnBrowser as Record<string, unknown>;
  delete global.SimpleWebAuthnBrowser;
  for (const name of ["startRegistration", "startAuthentication", "browserSupportsWebAuthn"]) {
    assert.equal(typeof lib?.[name], "function", name);
  }
});
