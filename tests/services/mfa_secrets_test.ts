/**
 * The second factor's secrets as someone holding a copy of the database file, the logs or the
 * audit trail sees them: TOTP seeds (confirmed, pending, replaced, turned off) are in the
 * file and its WAL in no encoding, recovery codes and `mfa_token`s in no spelling, and no
 * seed, code, recovery code or `mfa_token` reaches a log line or an audit event's details,
 * whatever path the requests took (success, wrong code, replay, malformed body, query string).
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import * as OTPAuth from "otpauth";
import { fromBase64Url, hex, toBase64Url } from "../../src/lib/crypto.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/auth_support.ts";
import { buildTestApp, request, tempDir, type TestApp } from "../support/helpers.ts";
import {
  mfaStep,
  mfaUser,
  midStepMs,
  passwordStep,
  STEP_MS,
  totp,
} from "../support/mfa_support.ts";
import { bytesContain, databaseFiles } from "../support/database_files.ts";

const text = new TextEncoder();

/** Every encoding of a seed's bytes someone might grep a file for. */
function seedNeedles(base32: string): Map<string, Uint8Array> {
  const bytes = OTPAuth.Secret.fromBase32(base32).bytes;
  const std = btoa(String.fromCharCode(...bytes));
  return new Map<string, Uint8Array>([
    ["base32", text.encode(base32)],
    ["base32 lower-case", text.encode(base32.toLowerCase())],
    ["raw bytes", bytes],
    ["base64", text.encode(std)],
    ["base64 without padding", text.encode(std.replace(/=+$/, ""))],
    ["base64url", text.encode(toBase64Url(bytes))],
    ["hex", text.encode(hex(bytes))],
    ["HEX", text.encode(hex(bytes).toUpperCase())],
    // A partial leak is a leak too.
    ["raw prefix", bytes.slice(0, 12)],
  ]);
}

/** Every spelling of a recovery code a user may type, and a store might keep. */
function recoveryCodeSpellings(code: string): string[] {
  const bare = code.replaceAll("-", "");
  return [code, bare, code.toUpperCase(), bare.toUpperCase()];
}

/** A six-digit code standing alone (not inside a longer number, hash or id). */
function codePattern(code: string): RegExp {
  return new RegExp(`(?<![0-9A-Za-z.])${code}(?![0-9A-Za-z])`);
}

/** Everything secret the flows below handle, collected as they go. */
interface Secrets {
  seeds: Map<string, string>;
  recoveryCodes: Set<string>;
  mfaTokens: Set<string>;
  totpCodes: Set<string>;
  /** Something stored in clear, for the control of a search. */
  email: string;
}

/**
 * Runs every flow that handles a second-factor secret, over HTTP: enrolments (confirmed,
 * pending, replaced), MFA logins with a code and a recovery code, wrong codes, replays, a dead
 * token, malformed bodies, secrets in a query string, reauthentication, regeneration and
 * turning MFA off.
 */
async function exercise(t: TestApp, clock: ManualClock): Promise<Secrets> {
  const secrets: Secrets = {
    seeds: new Map(),
    recoveryCodes: new Set(),
    mfaTokens: new Set(),
    totpCodes: new Set(),
    email: "",
  };
  const code = (secret: string, steps = 0) => {
    const value = totp(secret, clock.now(), steps);
    secrets.totpCodes.add(value);
    return value;
  };
  const challenge = async (email: string) => {
    const { mfa_token } = await passwordStep(t, email);
    secrets.mfaTokens.add(mfa_token);
    return mfa_token;
  };
  const expect = async (res: Response, status: number) => {
    assert.equal(res.status, status, await res.clone().text());
    await res.body?.cancel();
  };

  // Alice: enrolled; logs in with a code, a recovery code, wrong codes and replays.
  const alice = await mfaUser(t, clock);
  secrets.email = alice.email;
  secrets.seeds.set("alice's seed", alice.secret);
  alice.recoveryCodes.forEach((c) => secrets.recoveryCodes.add(c));
  let token = await challenge(alice.email);
  const aliceCode = code(alice.secret);
  await expect(await mfaStep(t, token, { code: aliceCode }), 200);
  await expect(await mfaStep(t, token, { code: code(alice.secret, 1) }), 401); // used token
  token = await challenge(alice.email);
  await expect(await mfaStep(t, token, { code: aliceCode }), 401); // replayed code
  await expect(await mfaStep(t, token, { code: code(alice.secret, -3) }), 401); // wrong code
  await expect(await mfaStep(t, token, { recovery_code: alice.recoveryCodes[0] }), 200);
  token = await challenge(alice.email);
  await expect(await mfaStep(t, token, { recovery_code: alice.recoveryCodes[0] }), 401);
  // Malformed bodies that carry the secrets, and secrets put in a query string.
  await expect(
    await request(t.app, "POST", "/api/v1/auth/mfa", {
      body: { mfa_token: token, recovery_code: alice.recoveryCodes[1], code: aliceCode },
    }),
    422,
  );
  await expect(
    await request(t.app, "POST", "/api/v1/auth/mfa", {
      body: { mfa_token: token, code: `${alice.recoveryCodes[1]}-${alice.secret}` },
    }),
    422,
  );
  const query = new URLSearchParams({
    mfa_token: token,
    code: aliceCode,
    recovery_code: alice.recoveryCodes[1],
    secret: alice.secret,
  });
  await expect(
    await request(t.app, "POST", `/api/v1/auth/mfa?${query}`, {
      body: { mfa_token: token, recovery_code: alice.recoveryCodes[1] },
    }),
    200,
  );
  // An expired token, never used.
  const expired = await challenge(alice.email);
  clock.advance(6 * 60_000);
  await expect(await mfaStep(t, expired, { code: code(alice.secret) }), 401);
  // Step-up with a code, then a new set of recovery codes (the old set is in the file
  // no more than the new one).
  token = await challenge(alice.email);
  const loggedIn = await mfaStep(t, token, { code: code(alice.secret) });
  assert.equal(loggedIn.status, 200);
  const { access_token } = await loggedIn.json();
  clock.advance(STEP_MS);
  await expect(
    await authed(t, "POST", "/api/v1/auth/reauthenticate", access_token, {
      password: STRONG_PASSWORD,
      code: code(alice.secret),
    }),
    200,
  );
  clock.advance(STEP_MS);
  const regenerated = await authed(t, "POST", "/api/v1/me/mfa/recovery-codes", access_token, {
    code: code(alice.secret),
  });
  assert.equal(regenerated.status, 200);
  for (const c of (await regenerated.json()).recovery_codes) secrets.recoveryCodes.add(c);

  // Bob: a replaced enrolment, then a pending one with a wrong code.
  const bobEmail = uniqueEmail("pending");
  await registerUser(t, bobEmail);
  const bob = (await login(t, bobEmail)).access_token;
  for (const label of ["bob's replaced seed", "bob's pending seed"]) {
    const started = await (await authed(t, "POST", "/api/v1/me/mfa/totp", bob)).json();
    secrets.seeds.set(label, started.secret);
  }
  await expect(
    await authed(t, "POST", "/api/v1/me/mfa/totp/verify", bob, {
      code: code(secrets.seeds.get("bob's replaced seed")!),
    }),
    401,
  );

  // Carol: enrolled, then MFA off (with a recovery code).
  const carol = await mfaUser(t, clock);
  secrets.seeds.set("carol's removed seed", carol.secret);
  carol.recoveryCodes.forEach((c) => secrets.recoveryCodes.add(c));
  await expect(
    await authed(t, "DELETE", "/api/v1/me/mfa", carol.accessToken, {
      code: carol.recoveryCodes[9],
    }),
    204,
  );
  return secrets;
}

Deno.test("no TOTP seed, recovery code or mfa_token can be found in the database file or its WAL, in any encoding or spelling", async () => {
  await using dir = await tempDir();
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ DATABASE_URL: `file:${dir.path}/citadel.db` }, { clock });
  let closed = false;
  try {
    const secrets = await exercise(t, clock);
    assert.equal(secrets.seeds.size, 4);
    assert.equal(secrets.recoveryCodes.size, 30);
    assert.ok(secrets.mfaTokens.size >= 5);

    const needles = new Map<string, Uint8Array>();
    for (const [owner, seed] of secrets.seeds) {
      for (const [what, bytes] of seedNeedles(seed)) needles.set(`${owner} (${what})`, bytes);
    }
    for (const rc of secrets.recoveryCodes) {
      for (const spelling of recoveryCodeSpellings(rc)) {
        needles.set(`recovery code ${spelling}`, text.encode(spelling));
      }
    }
    for (const token of secrets.mfaTokens) {
      needles.set(`mfa_token ${token}`, text.encode(token));
      needles.set(`mfa_token bytes of ${token}`, fromBase64Url(token));
      needles.set(`mfa_token hex of ${token}`, text.encode(hex(fromBase64Url(token))));
    }
    const search = async (when: string) => {
      const files = await databaseFiles(dir.path);
      assert.ok(files.has("citadel.db"));
      for (const [name, bytes] of files) {
        for (const [what, needle] of needles) {
          assert.ok(!bytesContain(bytes, needle), `${what} found in ${name} ${when}`);
        }
      }
      return files;
    };
    const before = await search("before a checkpoint");
    assert.ok([...before.keys()].some((n) => n.endsWith("-wal")), "the WAL is searched too");
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(t.deps.db);
    await search("after a checkpoint");

    // What is stored instead: envelopes for seeds, hashes for codes and tokens.
    const seeds = await t.deps.db.selectFrom("mfa_totp").select("secret").execute();
    assert.equal(seeds.length, 2, "alice's and bob's pending one (carol's is gone)");
    for (const row of seeds) assert.match(row.secret, /^v1\./, "a field-encryption envelope");
    const codes = await t.deps.db.selectFrom("mfa_recovery_codes").select("code_hash").execute();
    assert.equal(codes.length, 10, "alice's current set only");
    for (const row of codes) assert.match(row.code_hash, /^[0-9a-f]{64}$/);

    await t.close();
    closed = true;
    await search("after closing");
    // The control: the search finds what is stored in clear (an account's email).
    const file = (await databaseFiles(dir.path)).get("citadel.db")!;
    assert.ok(bytesContain(file, text.encode(secrets.email)), "the search would have found it");
  } finally {
    if (!closed) await t.close();
  }
});

Deno.test("no seed, TOTP code, recovery code or mfa_token appears in the logs or in any audit event", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const secrets = await exercise(t, clock);
    await t.deps.alerts.flush(1_000);
    await t.deps.logger.flush();
    const logs = t.logs.join("\n");
    // The control: the logs saw these requests and their alerts.
    assert.ok(logs.includes('"path":"/api/v1/auth/mfa"'), "the MFA requests were logged");
    assert.ok(logs.includes('"alert":"mfa_recovery_code_used"'), "and their alerts");

    const events = await t.deps.db.selectFrom("audit_events").selectAll().execute();
    const mfaEvents = events.filter((e) => e.action.startsWith("mfa."));
    for (
      const action of [
        "mfa.enrolled",
        "mfa.challenge_failed",
        "mfa.recovery_code_used",
        "mfa.recovery_codes_regenerated",
        "mfa.disabled",
      ]
    ) {
      assert.ok(mfaEvents.some((e) => e.action === action), `${action} was audited`);
    }
    const details = events.map((e) => e.details).join("\n");
    const rows = JSON.stringify(events);

    const where = [["the logs", logs], ["an audit event's details", details]] as const;
    for (const [place, haystack] of where) {
      const lower = haystack.toLowerCase();
      for (const [owner, seed] of secrets.seeds) {
        assert.ok(!lower.includes(seed.toLowerCase()), `${owner} in ${place}`);
      }
      for (const rc of secrets.recoveryCodes) {
        for (const spelling of recoveryCodeSpellings(rc)) {
          assert.ok(!lower.includes(spelling.toLowerCase()), `recovery code ${rc} in ${place}`);
        }
      }
      for (const token of secrets.mfaTokens) {
        assert.ok(!haystack.includes(token), `an mfa_token in ${place}`);
      }
      for (const code of secrets.totpCodes) {
        assert.ok(!codePattern(code).test(haystack), `TOTP code ${code} in ${place}`);
      }
    }
    // Nor anywhere else in an audit row.
    for (const seed of secrets.seeds.values()) assert.ok(!rows.includes(seed));
    for (const token of secrets.mfaTokens) assert.ok(!rows.includes(token));
    for (const rc of secrets.recoveryCodes) assert.ok(!rows.includes(rc));
  } finally {
    await t.close();
  }
});
