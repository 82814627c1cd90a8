/**
 * The `.../request` endpoints as an enumerating attacker sees them: for an address with an
 * account (which gets a token, a queued message and a commit) and for one without, the same
 * status and body bytes, and median times within 25% of each other.
 */
import assert from "node:assert/strict";
import { EVEN_ANSWER_MS } from "../../src/services/mail.ts";
import { registerUser, uniqueEmail } from "../support/auth_support.ts";
import { buildTestApp, request, tempDir } from "../support/helpers.ts";

const SAMPLES = 12;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
};

for (const path of ["/api/v1/auth/password-reset/request", "/api/v1/auth/verify-email/request"]) {
  Deno.test(`${path}: the same answer, in similar time, for an existing and an unknown address`, async () => {
    // A database file, so an existing account's commit costs what it costs in production.
    await using dir = await tempDir();
    const t = await buildTestApp({ DATABASE_URL: `file:${dir.path}/c.db` }, {});
    try {
      const known: string[] = [];
      for (let i = 0; i < SAMPLES; i++) known.push((await registerUser(t)).email);
      const times = { known: [] as number[], unknown: [] as number[] };
      const bodies = new Set<string>();
      // Interleaved, a fresh address each time, so each known request does the whole work.
      for (let i = 0; i < SAMPLES; i++) {
        for (const kind of ["known", "unknown"] as const) {
          const email = kind === "known" ? known[i] : uniqueEmail("nobody");
          const started = performance.now();
          const res = await request(t.app, "POST", path, { body: { email } });
          const body = await res.text();
          times[kind].push(performance.now() - started);
          assert.equal(res.status, 202, body);
          assert.equal(res.headers.get("content-type"), "application/json");
          bodies.add(body);
        }
      }
      assert.equal(bodies.size, 1, "one body for every request");
      const queued = await t.deps.db.selectFrom("email_outbox").select("recipient").execute();
      const accounts = new Set(known);
      assert.ok(queued.every((row) => accounts.has(row.recipient)), "nothing to unknown addresses");
      const expectedKind = path.includes("reset") ? "password_reset" : "verify_email";
      const byKind = await t.deps.db.selectFrom("email_outbox").select("recipient")
        .where("kind", "=", expectedKind).execute();
      // Registration queued one verification each; the request one more (reset: one each).
      assert.equal(byKind.length, expectedKind === "verify_email" ? 2 * SAMPLES : SAMPLES);
      const [k, u] = [median(times.known), median(times.unknown)];
      assert.ok(k >= EVEN_ANSWER_MS && u >= EVEN_ANSWER_MS, `both padded: ${k}, ${u}`);
      assert.ok(Math.abs(k - u) <= 0.25 * Math.min(k, u), `medians ${k} ms and ${u} ms`);
    } finally {
      await t.close();
    }
  });
}
