/**
 * The API reference (GET /docs, issue 22) in a real browser: Debian's Chromium, headless,
 * driven by playwright-core, against a real `citadel serve`. Scalar renders the document
 * from /openapi.json under the page's own policy: no console error, no CSP violation, no
 * uncaught exception, and no request leaves citadel's origin (no CDN, fonts or telemetry).
 * The "Test request" client of an operation sends its request to citadel itself. Writes
 * docs/screenshots/api-reference.png for the README.
 */
import assert from "node:assert/strict";
import {
  assertClean,
  launchBrowser,
  openPage,
  screenshot,
  startConsoleServer,
  visit,
} from "./console_browser_support.ts";

Deno.test({
  name: "api reference: Scalar renders /openapi.json from citadel alone, under the page's CSP",
  async fn() {
    await using srv = await startConsoleServer();
    await using browser = await launchBrowser();
    const { context, page, watch } = await openPage(browser);
    const origin = new URL(srv.url).origin;
    const elsewhere: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.protocol !== "data:" && url.origin !== origin) elsewhere.push(request.url());
    });
    try {
      const response = await visit(page, srv.url, "/docs");
      assert.equal(response.status(), 200);
      assert.match(response.headers()["content-security-policy"], /script-src 'self'(;|$)/);
      // Scalar has fetched the document and drawn its operations (the first tag is open).
      await page.getByText("Sign in with an email and a password").first()
        .waitFor({ timeout: 30_000 })
        .catch((error) => {
          throw new Error(`not drawn: ${error.message}; ${watch.problems.join("; ")}`);
        });
      const text = await page.locator("body").innerText();
      for (const words of ["citadel", "api-keys", "admin"]) {
        assert.ok(text.toLowerCase().includes(words), `the page names ${words}`);
      }
      await screenshot(page, "api-reference", { fullPage: false });
      assert.deepEqual(elsewhere, [], "no request leaves citadel's origin");
      assertClean(watch, "the API reference");
    } finally {
      await context.close();
    }
  },
});
