/**
 * Every kind of console page over HTTPS scores A+ on the Observatory rules (the page's own
 * nonce CSP included): the sign-in form, the account and an admin page, an email link page, a
 * refused form, and the console turned off (`CONSOLE_ENABLED=false`: the paths are unknown).
 */
import assert from "node:assert/strict";
import { adminSession } from "../support/auth_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";
import { observatoryScore } from "../support/observatory.ts";

const HOST = "https://api.example.com";
const ENV = { ALLOWED_HOSTS: "api.example.com,localhost" };

function send(t: TestApp, path: string, init: RequestInit = {}) {
  return Promise.resolve(t.app.request(`${HOST}${path}`, { redirect: "manual", ...init }, {
    remoteAddr: { hostname: "203.0.113.9" },
  }));
}

/** Signs in through the form over HTTPS; answers the session's Cookie header value. */
async function signIn(t: TestApp, email: string) {
  const form = await send(t, "/account/sign-in");
  const anonymous = form.headers.getSetCookie()[0].split(";")[0];
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
  const body = new URLSearchParams({ _csrf: csrf, email, password: "Quartz-Lantern-Orbit-71!" })
    .toString();
  const res = await send(t, "/account/sign-in", {
    method: "POST",
    headers: {
      cookie: anonymous,
      origin: HOST,
      "content-type": "application/x-www-form-urlencoded",
      "content-length": String(body.length),
    },
    body,
  });
  assert.equal(res.status, 303, await res.clone().text());
  return res.headers.getSetCookie().find((c) => c.startsWith("__Host-citadel_console="))!
    .split(";")[0];
}

Deno.test("console pages over HTTPS score A+ on the Observatory rules", async () => {
  const t = await buildTestApp(ENV);
  try {
    const admin = await adminSession(t, "super_admin");
    const cookie = await signIn(t, admin.user.email);
    const cases: Array<[string, number, () => Promise<Response>]> = [
      ["sign-in form", 200, () => send(t, "/account/sign-in")],
      ["account", 200, () => send(t, "/account", { headers: { cookie } })],
      ["admin users", 200, () => send(t, "/admin/users", { headers: { cookie } })],
      ["link page", 200, () => send(t, "/account/reset-password")],
      ["refused form", 403, () =>
        send(t, "/account/profile", {
          method: "POST",
          headers: {
            cookie,
            origin: HOST,
            "content-type": "application/x-www-form-urlencoded",
            "content-length": "6",
          },
          body: "name=x",
        })],
    ];
    for (const [name, status, call] of cases) {
      const response = await call();
      assert.equal(response.status, status, name);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/, name);
      const score = await observatoryScore({ response, https: true });
      assert.ok(score.score >= 100, `${name}: ${score.score} ${JSON.stringify(score.tests)}`);
      assert.match(response.headers.get("content-security-policy") ?? "", /'nonce-/, name);
      assert.equal(response.headers.get("cache-control"), "no-store", name);
      await response.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

Deno.test("CONSOLE_ENABLED=false: the console's paths are unknown routes", async () => {
  const t = await buildTestApp({ ...ENV, CONSOLE_ENABLED: "false" });
  try {
    for (const path of ["/account", "/account/sign-in", "/admin/users", "/console/style.css"]) {
      const res = await send(t, path);
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).code, "not_found", path);
    }
  } finally {
    await t.close();
  }
});
