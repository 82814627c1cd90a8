import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import type { Db } from "../../src/db/schema.ts";
import { createFieldCipher, parseFieldKey } from "../../src/lib/field_crypto.ts";
import { countByKeyId } from "../../src/services/encrypted_fields.ts";
import { hs256KeyId } from "../../src/services/jwt.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";
import { buildTestApp, runCli, tempDir, TEST_SECRET } from "../support/helpers.ts";

interface KeyJson {
  kid: string;
  algorithm: string;
  state: string;
  created_at: string | null;
  activated_at: string | null;
  expires_at: string | null;
  retired_at: string | null;
}

const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/;

/** A new field-encryption key: base64 of 32 random bytes. */
function fieldKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

async function keyIdOf(key: string): Promise<string> {
  const parsed = parseFieldKey(key);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return (await createFieldCipher({ current: parsed.key })).currentKeyId;
}

/** A temporary directory whose database file the CLI runs against, migrated by the CLI. */
async function keysDb(env: Record<string, string>) {
  const dir = await tempDir();
  const base = {
    APP_ENV: "test",
    DATABASE_URL: `file:${dir.path}/keys.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
    ...env,
  };
  const run = (args: string[], extra: Record<string, string> = {}) =>
    runCli(["keys", ...args], { env: { ...base, ...extra }, cwd: dir.path });
  const migrated = await runCli(["migrate", "up"], { env: base, cwd: dir.path });
  assert.equal(migrated.code, 0, migrated.stderr);
  const { db } = await connect({ databaseUrl: base.DATABASE_URL });
  return {
    dir: dir.path,
    env: base,
    db,
    run,
    async listJson(extra: Record<string, string> = {}): Promise<KeyJson[]> {
      const listed = await run(["list", "--json"], extra);
      assert.equal(listed.code, 0, listed.stderr);
      return JSON.parse(listed.stdout);
    },
    async [Symbol.asyncDispose]() {
      await db.destroy();
      await dir[Symbol.asyncDispose]();
    },
  };
}

async function auditEvents(db: Db, action: string) {
  return await db.selectFrom("audit_events").selectAll().where("action", "=", action)
    .orderBy("seq").execute();
}

Deno.test("citadel keys refuses an unmigrated database with exit 1, naming citadel migrate", async () => {
  await using dir = await tempDir();
  const result = await runCli(["keys", "list"], {
    env: {
      APP_ENV: "test",
      DATABASE_URL: `file:${dir.path}/fresh.db`,
      JWT_SECRET_KEY: TEST_SECRET,
      JWT_ALGORITHM: "EdDSA",
    },
    cwd: dir.path,
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /not up to date .*0007_signing_keys.*run citadel migrate/);
});

Deno.test("citadel keys list|rotate|retire with EdDSA: first key current, next published, early rotation refused, forced promotion, retirement, all audited", async () => {
  // A long publish delay, so only --force can promote within the test.
  await using t = await keysDb({ JWT_ALGORITHM: "EdDSA", JWKS_PUBLISH_DELAY: "600" });

  // The first key is created on first use, by the CLI's key ring as by `serve`.
  const first = await t.run(["list"]);
  assert.equal(first.code, 0, first.stderr);
  const lines = first.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 2, first.stdout);
  assert.match(lines[0], /^KID\s+ALGORITHM\s+STATE\s+CREATED\s+ACTIVATED\s+EXPIRES\b/);
  assert.match(
    lines[1],
    new RegExp(`^\\S{43}\\s+EdDSA\\s+current\\s+${ISO.source}\\s+${ISO.source}\\s+-`),
  );
  // Columns are aligned: each header word starts where its value starts.
  assert.equal(lines[1].indexOf("EdDSA"), lines[0].indexOf("ALGORITHM"));
  assert.equal(lines[1].indexOf("current"), lines[0].indexOf("STATE"));
  const [original] = await t.listJson();
  assert.equal(original.state, "current");
  assert.ok(lines[1].startsWith(original.kid));

  const published = await t.run(["rotate"]);
  assert.equal(published.code, 0, published.stderr);
  const nextKid = /published next key (\S+) \(EdDSA\)/.exec(published.stdout)?.[1];
  assert.ok(nextKid, published.stdout);
  assert.match(published.stdout, /JWKS_PUBLISH_DELAY=600 s/);
  assert.deepEqual(
    (await t.listJson()).map((k) => [k.kid, k.state]),
    [[nextKid, "next"], [original.kid, "current"]],
  );

  const early = await t.run(["rotate"]);
  assert.equal(early.code, 1, early.stdout);
  assert.match(
    early.stderr,
    new RegExp(`^citadel keys rotate: The next key ${nextKid} has been published for \\d+ s`),
  );
  assert.match(early.stderr, /Rotate again in (5\d\d|600) s \(JWKS_PUBLISH_DELAY\)/);
  assert.match(early.stderr, /citadel keys rotate --force/);
  assert.equal((await t.listJson()).length, 2, "a refused rotation changes nothing");

  const forced = await t.run(["rotate", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, new RegExp(`promoted ${nextKid} to current`));
  assert.match(
    forced.stdout,
    new RegExp(`previous key ${original.kid} verifies until ${ISO.source}`),
  );
  const newNext = /published next key (\S+)\s*$/.exec(forced.stdout)?.[1];
  assert.ok(newNext && newNext !== nextKid, forced.stdout);

  const rotated = await t.listJson();
  assert.deepEqual(rotated.map((k) => [k.kid, k.state]), [
    [newNext, "next"],
    [nextKid, "current"],
    [original.kid, "previous"],
  ]);
  const previous = rotated[2];
  assert.match(previous.expires_at ?? "", ISO);
  assert.ok(forced.stdout.includes(previous.expires_at!));
  const table = await t.run(["list"]);
  const previousLine = table.stdout.split("\n").find((l) => l.startsWith(original.kid)) ?? "";
  assert.ok(previousLine.includes(`previous  ${previous.created_at}`), previousLine);
  assert.ok(previousLine.includes(previous.expires_at!), previousLine);

  const retired = await t.run(["retire", original.kid]);
  assert.equal(retired.code, 0, retired.stderr);
  assert.match(retired.stdout, new RegExp(`retired ${original.kid} \\(was previous\\)`));
  const afterRetire = await t.listJson();
  const gone = afterRetire.find((k) => k.kid === original.kid)!;
  assert.equal(gone.state, "retired");
  assert.match(gone.retired_at ?? "", ISO);
  const again = await t.run(["retire", original.kid]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /was already retired/);

  // Retiring the current key (compromise) promotes the next one at once.
  const compromised = await t.run(["retire", nextKid]);
  assert.equal(compromised.code, 0, compromised.stderr);
  assert.match(compromised.stdout, new RegExp(`\\(was current\\)`));
  assert.match(compromised.stdout, new RegExp(`the current signing key is now ${newNext}`));

  const unknown = await t.run(["retire", "no-such-kid"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^citadel keys retire: No signing key has kid no-such-kid/);

  const created = await auditEvents(t.db, "signing_key.created");
  assert.deepEqual(
    created.map((e) => [e.target_id, JSON.parse(e.details).reason, e.actor_type]),
    [[original.kid, "first_start", "system"], [nextKid, "rotate", "system"]],
  );
  const promoted = await auditEvents(t.db, "signing_key.promoted");
  assert.equal(promoted.length, 1);
  assert.equal(promoted[0].target_id, nextKid);
  assert.deepEqual(JSON.parse(promoted[0].details), {
    algorithm: "EdDSA",
    previous_kid: original.kid,
    next_kid: newNext,
    forced: true,
  });
  const retirements = await auditEvents(t.db, "signing_key.retired");
  assert.deepEqual(retirements.map((e) => e.target_id), [original.kid, nextKid]);
  const verified = await runCli(["audit", "verify"], { env: t.env, cwd: t.dir });
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
});

Deno.test("citadel keys rotate promotes without --force once JWKS_PUBLISH_DELAY has passed", async () => {
  await using t = await keysDb({ JWT_ALGORITHM: "ES256", JWKS_PUBLISH_DELAY: "1" });
  const published = await t.run(["rotate"]);
  assert.equal(published.code, 0, published.stderr);
  const nextKid = /published next key (\S+) \(ES256\)/.exec(published.stdout)?.[1];
  assert.ok(nextKid, published.stdout);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const promoted = await t.run(["rotate"]);
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.match(promoted.stdout, new RegExp(`promoted ${nextKid} to current`));
  const states = (await t.listJson()).map((k) => k.state);
  assert.deepEqual(states, ["next", "current", "previous"]);
});

Deno.test("citadel keys with HS256: list shows the configured secrets' key ids, rotate exits 1 naming JWT_SECRET_KEY_PREVIOUS", async () => {
  await using t = await keysDb({});
  const listed = await t.run(["list"]);
  assert.equal(listed.code, 0, listed.stderr);
  const lines = listed.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 2, listed.stdout);
  const kid = await hs256KeyId(TEST_SECRET);
  assert.match(lines[1], new RegExp(`^${kid}\\s+HS256\\s+current\\s+-\\s+-\\s+-`));

  const previousSecret = "previous-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
  const both = await t.listJson({ JWT_SECRET_KEY_PREVIOUS: previousSecret });
  assert.deepEqual(both.map((k) => [k.kid, k.state]), [
    [kid, "current"],
    [await hs256KeyId(previousSecret), "previous"],
  ]);

  const rotate = await t.run(["rotate", "--force"]);
  assert.equal(rotate.code, 1, rotate.stdout);
  assert.match(rotate.stderr, /^citadel keys rotate: JWT_ALGORITHM is HS256/);
  assert.match(rotate.stderr, /JWT_SECRET_KEY_PREVIOUS/);
  const retire = await t.run(["retire", kid]);
  assert.equal(retire.code, 1, retire.stdout);
  assert.match(retire.stderr, /JWT_SECRET_KEY_PREVIOUS/);
  assert.equal((await t.db.selectFrom("signing_keys").selectAll().execute()).length, 0);
});

Deno.test("citadel keys: --help prints the usage; a missing subcommand, kid or a wrong option exits 2", async () => {
  const help = await runCli(["keys", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  for (const form of ["keys list [--json]", "keys rotate [--force]", "keys retire <kid>"]) {
    assert.ok(help.stdout.includes(`citadel ${form}`), help.stdout);
  }
  assert.match(help.stdout, /citadel keys reencrypt/);
  const top = await runCli(["--help"]);
  assert.match(top.stdout, /keys rotate \[--force\]/);

  const [none, noKid, wrong] = await Promise.all([
    runCli(["keys"]),
    runCli(["keys", "retire"]),
    runCli(["keys", "list", "--force"]),
  ]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^citadel keys: missing subcommand: list, rotate, retire or reencrypt/);
  assert.equal(noKid.code, 2);
  assert.match(noKid.stderr, /^citadel keys retire: missing <kid>/);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /unknown option "--force"/);
});

Deno.test("citadel keys reencrypt moves every field from ENCRYPTION_KEY_PREVIOUS to ENCRYPTION_KEY, once, audited; the old key is then unnecessary", async () => {
  const keyA = fieldKey();
  const keyB = fieldKey();
  const [idA, idB] = [await keyIdOf(keyA), await keyIdOf(keyB)];
  await using t = await keysDb({ JWT_ALGORITHM: "EdDSA", ENCRYPTION_KEY: keyA });
  const made = await t.run(["rotate"]); // the first key (current) and a next one, under A
  assert.equal(made.code, 0, made.stderr);
  assert.deepEqual([...await countByKeyId(t.db)], [[idA, 2]]);

  // A key that is neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS: refused, nothing changed.
  const stray = await t.run(["reencrypt"], { ENCRYPTION_KEY: keyB });
  assert.equal(stray.code, 1, stray.stdout);
  assert.match(stray.stderr, new RegExp(`2 fields under key id ${idA}`));
  assert.match(stray.stderr, /Set ENCRYPTION_KEY_PREVIOUS to the key/);
  assert.deepEqual([...await countByKeyId(t.db)], [[idA, 2]]);

  const rotatedKeys = { ENCRYPTION_KEY: keyB, ENCRYPTION_KEY_PREVIOUS: keyA };
  const moved = await t.run(["reencrypt"], rotatedKeys);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(
    moved.stdout,
    new RegExp(`re-encrypted 2 fields under ENCRYPTION_KEY \\(key id ${idB}\\)`),
  );
  assert.match(moved.stdout, /ENCRYPTION_KEY_PREVIOUS is no longer needed/);
  assert.match(moved.stderr, /reencrypt: \d+% \d\/2 fields/);
  assert.deepEqual([...await countByKeyId(t.db)], [[idB, 2]]);
  const events = await auditEvents(t.db, "signing_key.reencrypted");
  assert.equal(events.length, 1);
  assert.deepEqual(JSON.parse(events[0].details), { fields: 2, key_id: idB });
  assert.equal(events[0].actor_type, "system");

  const twice = await t.run(["reencrypt"], rotatedKeys);
  assert.equal(twice.code, 0, twice.stderr);
  assert.match(
    twice.stdout,
    new RegExp(`nothing to re-encrypt: all 2 fields are under ENCRYPTION_KEY \\(key id ${idB}\\)`),
  );
  assert.equal((await auditEvents(t.db, "signing_key.reencrypted")).length, 1);

  // B alone: the CLI still reads the keys, and the app signs with the current private key,
  // which now decrypts only under B; A alone no longer can (a rotation loads the key ring,
  // which decrypts every key first, and changes nothing when it cannot).
  const withB = await t.run(["list"], { ENCRYPTION_KEY: keyB });
  assert.equal(withB.code, 0, withB.stderr);
  const rowsBefore = (await t.listJson({ ENCRYPTION_KEY: keyB })).length;
  const withA = await t.run(["rotate", "--force"], { ENCRYPTION_KEY: keyA });
  assert.equal(withA.code, 1, withA.stdout);
  assert.equal((await t.listJson({ ENCRYPTION_KEY: keyB })).length, rowsBefore);
  assert.match(withA.stderr, new RegExp(`unknown key id "${idB}"`));

  const current = (await t.listJson({ ENCRYPTION_KEY: keyB })).find((k) => k.state === "current")!;
  const app = await buildTestApp({ ...t.env, ENCRYPTION_KEY: keyB });
  try {
    const user = await registerUser(app);
    const tokens = await login(app, user.email);
    const header = JSON.parse(
      atob(tokens.access_token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")),
    );
    assert.deepEqual(header, { alg: "EdDSA", typ: "JWT", kid: current.kid });
    const me = await authed(app, "GET", "/api/v1/me", tokens.access_token);
    assert.equal(me.status, 200, await me.text());
  } finally {
    await app.close();
  }
});
