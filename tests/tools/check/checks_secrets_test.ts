import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { sql } from "kysely";
import { createFieldCipher, parseFieldKey } from "../../../src/lib/field_crypto.ts";
import { SYSTEM_ACTOR } from "../../../src/services/audit_events.ts";
import { countByKeyId, reencryptAll } from "../../../src/services/encrypted_fields.ts";
import type { Finding } from "../../../src/tools/check/types.ts";
import {
  type Deployment,
  freshSecret,
  hardenedDeployment,
  significant,
  unsetInEnvFile,
  withSigningKeys,
} from "../../support/check_deployment.ts";
import { type Case, tableTest, withDb } from "../../support/check_table.ts";
import { runCli } from "../../support/helpers.ts";

/** A field-encryption key as `openssl rand -base64 32` prints it. */
const fieldKey = () => freshSecret(32);
const keyBytes = (key: string) => {
  const parsed = parseFieldKey(key);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.key;
};
const keyIdOf = async (key: string) =>
  (await createFieldCipher({ current: keyBytes(key) })).currentKeyId;

/** The deployment's first EdDSA signing key, its private key encrypted under `key`. */
const storeSigningKey = (d: Deployment, key: string) =>
  withSigningKeys(d, { encryptionKey: key }, (keys) => keys.ensureCurrent("EdDSA"));

function only(findings: readonly Finding[], id: string): Finding[] {
  return findings.filter((f) => f.id === id);
}

const CASES: Case[] = [
  // CIT-050: no pepper of its own
  {
    defect: "production without HASH_PEPPER or DATA_DIR/hash_pepper",
    expected: ["CIT-050 critical"],
    exitCode: 1,
    apply: (d) => unsetInEnvFile(d, "HASH_PEPPER"),
  },
  {
    defect: "production without HASH_PEPPER but with the pepper generated in DATA_DIR",
    expected: [],
    exitCode: 0,
    async apply(d) {
      await unsetInEnvFile(d, "HASH_PEPPER");
      await Deno.writeTextFile(`${d.dir}/data/hash_pepper`, freshSecret() + "\n", { mode: 0o600 });
    },
  },
  {
    defect: "development without HASH_PEPPER or the file (an edge derives it from the JWT secret)",
    expected: ["CIT-048 medium", "CIT-050 medium"],
    exitCode: 0,
    async apply(d) {
      await unsetInEnvFile(d, "HASH_PEPPER");
      d.env.APP_ENV = "development";
    },
  },
  {
    defect: "a relative DATABASE_URL whose DATA_DIR holds the pepper, checked from its directory",
    expected: [],
    exitCode: 0,
    async apply(d) {
      await unsetInEnvFile(d, "HASH_PEPPER");
      await Deno.writeTextFile(`${d.dir}/data/hash_pepper`, freshSecret() + "\n", { mode: 0o600 });
      d.env.DATABASE_URL = "file:data/citadel.db";
    },
  },
  // CIT-051: HASH_PEPPER reused or weak
  {
    defect: "HASH_PEPPER equal to JWT_SECRET_KEY",
    expected: ["CIT-051 high"],
    exitCode: 1,
    apply: (d) => void (d.env.HASH_PEPPER = d.env.JWT_SECRET_KEY = freshSecret()),
  },
  {
    defect: "HASH_PEPPER of 12 random bytes",
    expected: ["CIT-051 high"],
    exitCode: 1,
    apply: (d) => void (d.env.HASH_PEPPER = freshSecret(12)),
  },
  {
    defect: "HASH_PEPPER a placeholder",
    expected: ["CIT-051 high"],
    exitCode: 1,
    apply: (d) => void (d.env.HASH_PEPPER = "change-me-to-a-long-random-pepper-please"),
  },
  {
    defect: "HASH_PEPPER with low entropy",
    expected: ["CIT-051 high"],
    exitCode: 1,
    apply: (d) => void (d.env.HASH_PEPPER = "ab".repeat(24)),
  },
  // CIT-052: encrypted fields but no key
  {
    defect: "an encrypted private signing key in production without ENCRYPTION_KEY",
    expected: ["CIT-052 critical"],
    exitCode: 1,
    apply: (d) => storeSigningKey(d, fieldKey()),
  },
  {
    defect: "JWT_ALGORITHM=EdDSA with its key stored and ENCRYPTION_KEY unset in production",
    // The algorithm's requirement is a production rule (CIT-091); the fields are CIT-052's.
    expected: ["CIT-052 critical", "CIT-091 critical"],
    exitCode: 1,
    async apply(d) {
      await storeSigningKey(d, fieldKey());
      d.env.JWT_ALGORITHM = "EdDSA";
    },
  },
  {
    defect: "JWT_ALGORITHM=EdDSA and no ENCRYPTION_KEY before the first start",
    expected: ["CIT-091 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.JWT_ALGORITHM = "EdDSA"),
  },
  {
    defect: "encrypted fields in development with neither ENCRYPTION_KEY nor a generated key",
    expected: ["CIT-048 medium", "CIT-052 critical"],
    exitCode: 1,
    async apply(d) {
      await storeSigningKey(d, fieldKey());
      d.env.APP_ENV = "development";
    },
  },
  {
    defect: "encrypted fields in development under the generated DATA_DIR/encryption_key",
    expected: ["CIT-048 medium"],
    exitCode: 0,
    async apply(d) {
      const key = fieldKey();
      await storeSigningKey(d, key);
      await Deno.writeTextFile(`${d.dir}/data/encryption_key`, key + "\n", { mode: 0o600 });
      d.env.APP_ENV = "development";
    },
  },
  {
    defect: "encrypted fields read with ENCRYPTION_KEY",
    expected: [],
    exitCode: 0,
    async apply(d) {
      d.env.JWT_ALGORITHM = "EdDSA";
      d.env.ENCRYPTION_KEY = fieldKey();
      await storeSigningKey(d, d.env.ENCRYPTION_KEY);
    },
  },
  // CIT-053: ENCRYPTION_KEY reused or guessable
  {
    defect: "ENCRYPTION_KEY equal to JWT_SECRET_KEY",
    expected: ["CIT-053 high"],
    exitCode: 1,
    apply: (d) => void (d.env.ENCRYPTION_KEY = d.env.JWT_SECRET_KEY = fieldKey()),
  },
  {
    defect: "ENCRYPTION_KEY equal to HASH_PEPPER",
    expected: ["CIT-053 high"],
    exitCode: 1,
    apply: (d) => void (d.env.ENCRYPTION_KEY = d.env.HASH_PEPPER = fieldKey()),
  },
  {
    defect: "ENCRYPTION_KEY equal to DATABASE_ENCRYPTION_KEY",
    expected: ["CIT-053 high"],
    exitCode: 1,
    apply: (d) => void (d.env.ENCRYPTION_KEY = d.env.DATABASE_ENCRYPTION_KEY),
  },
  {
    defect: "ENCRYPTION_KEY_PREVIOUS equal to ENCRYPTION_KEY (url-safe spelling)",
    expected: ["CIT-053 high"],
    exitCode: 1,
    apply(d) {
      d.env.ENCRYPTION_KEY = fieldKey();
      d.env.ENCRYPTION_KEY_PREVIOUS = Buffer.from(keyBytes(d.env.ENCRYPTION_KEY))
        .toString("base64url");
    },
  },
  {
    defect: "ENCRYPTION_KEY of 32 zero bytes",
    expected: ["CIT-053 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.ENCRYPTION_KEY = Buffer.alloc(32).toString("base64")),
  },
  {
    defect: "ENCRYPTION_KEY that is typed text in base64",
    expected: ["CIT-053 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.ENCRYPTION_KEY = btoa("our-field-encryption-key-2026-01")),
  },
  // CIT-054 and CIT-055: fields and the previous key
  {
    defect: "a field still under ENCRYPTION_KEY_PREVIOUS",
    expected: ["CIT-054 medium"],
    exitCode: 0,
    async apply(d) {
      const old = fieldKey();
      await storeSigningKey(d, old);
      d.env.ENCRYPTION_KEY = fieldKey();
      d.env.ENCRYPTION_KEY_PREVIOUS = old;
    },
  },
  {
    defect: "a field under a key that is neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS",
    expected: ["CIT-054 high"],
    exitCode: 1,
    async apply(d) {
      await storeSigningKey(d, fieldKey());
      d.env.ENCRYPTION_KEY = fieldKey();
    },
  },
  {
    defect: "ENCRYPTION_KEY_PREVIOUS set with no field under it",
    expected: ["CIT-055 low"],
    exitCode: 0,
    async apply(d) {
      d.env.ENCRYPTION_KEY = fieldKey();
      d.env.ENCRYPTION_KEY_PREVIOUS = fieldKey();
      await storeSigningKey(d, d.env.ENCRYPTION_KEY);
    },
  },
  // Databases the field checks must still read
  {
    defect: "a database from before signing keys (migration 0007 pending), previous keys set",
    // No signing_keys table: nothing is encrypted, so nothing needs the previous key.
    expected: ["CIT-025 high", "CIT-055 low"],
    exitCode: 1,
    async apply(d) {
      await withDb(d, async (db) => {
        await db.deleteFrom("citadel_migrations").where("name", "=", "0007_signing_keys")
          .execute();
        await sql`DROP TABLE signing_keys`.execute(db);
        await sql`DROP TABLE hs256_secrets`.execute(db);
      });
      d.env.ENCRYPTION_KEY = fieldKey();
      d.env.ENCRYPTION_KEY_PREVIOUS = fieldKey();
    },
  },
];

tableTest(CASES);

Deno.test("check reports the fields under the previous key until `reencrypt`, then the unused previous key until it is unset", async () => {
  await using d = await hardenedDeployment();
  const old = fieldKey();
  await withSigningKeys(d, { encryptionKey: old }, async (keys) => {
    await keys.ensureCurrent("EdDSA");
    await keys.rotate("EdDSA", {}, SYSTEM_ACTOR);
  });
  Object.assign(d.env, { JWT_ALGORITHM: "EdDSA", ENCRYPTION_KEY: fieldKey() });
  d.env.ENCRYPTION_KEY_PREVIOUS = old;

  const before = (await d.check()).report.findings;
  const [under] = only(before, "CIT-054");
  assert.deepEqual(significant(before), ["CIT-054 medium"]);
  assert.equal(
    under.found,
    `2 database fields still encrypted under ENCRYPTION_KEY_PREVIOUS (key id ${await keyIdOf(
      old,
    )}); ENCRYPTION_KEY is key id ${await keyIdOf(d.env.ENCRYPTION_KEY)}`,
  );
  assert.match(under.fix, /citadel keys reencrypt/);

  await withDb(d, async (db) => {
    const cipher = await createFieldCipher({
      current: keyBytes(d.env.ENCRYPTION_KEY),
      previous: keyBytes(old),
    });
    assert.equal(await reencryptAll(db, cipher), 2);
    assert.deepEqual([...(await countByKeyId(db)).keys()], [cipher.currentKeyId]);
  });
  const after = (await d.check()).report.findings;
  assert.deepEqual(significant(after), ["CIT-055 low"]);
  assert.equal(only(after, "CIT-055")[0].fix, "Unset ENCRYPTION_KEY_PREVIOUS");

  delete d.env.ENCRYPTION_KEY_PREVIOUS;
  assert.deepEqual(significant((await d.check()).report.findings), []);
});

Deno.test("serve refuses to start and check reports CIT-052 for the same encrypted fields (one rule)", async () => {
  await using d = await hardenedDeployment();
  const key = fieldKey();
  await storeSigningKey(d, key);

  const serve = await runCli(["serve"], {
    env: { ...d.env, HOST: "127.0.0.1", PORT: "0" },
    cwd: d.dir,
    timeoutMs: 60_000,
  });
  assert.equal(serve.code, 2, serve.stderr);
  assert.match(serve.stderr, /ENCRYPTION_KEY: is required when APP_ENV=production: 1 database/);

  const check = await runCli(["check", "--json"], { env: d.env, cwd: d.dir });
  assert.equal(check.code, 1, check.stderr);
  const findings: Finding[] = JSON.parse(check.stdout).findings;
  const ids = findings.filter((f) => f.severity !== "info").map((f) => `${f.id} ${f.severity}`);
  // The subprocess runs as whoever runs the tests: as root, CIT-063 is also true.
  assert.deepEqual(ids.filter((id) => !id.startsWith("CIT-063")), ["CIT-052 critical"]);
  const [missing] = only(findings, "CIT-052");
  assert.equal(
    missing.found,
    "1 database field encrypted (signing_keys.private_key, mfa_totp.secret) but ENCRYPTION_KEY is unset, so " +
      "`serve` refuses to start",
  );
  assert.equal(missing.setting, "ENCRYPTION_KEY");

  const fixed = await runCli(["check", "--json"], {
    env: { ...d.env, ENCRYPTION_KEY: key },
    cwd: d.dir,
  });
  assert.deepEqual(only(JSON.parse(fixed.stdout).findings, "CIT-052"), []);
});

Deno.test("serve refuses production without a pepper and check reports CIT-050 with the fix", async () => {
  await using d = await hardenedDeployment();
  await unsetInEnvFile(d, "HASH_PEPPER");
  const serve = await runCli(["serve"], {
    env: { ...d.env, HOST: "127.0.0.1", PORT: "0" },
    cwd: d.dir,
    timeoutMs: 60_000,
  });
  assert.equal(serve.code, 2, serve.stderr);
  assert.match(serve.stderr, /HASH_PEPPER: is required when APP_ENV=production/);

  const [finding] = only((await d.check()).report.findings, "CIT-050");
  assert.equal(finding.severity, "critical");
  assert.equal(
    finding.found,
    `HASH_PEPPER is unset and ${d.dir}/data/hash_pepper does not exist, so \`serve\` ` +
      "refuses to start",
  );
  assert.match(finding.fix, /^Run `citadel secret` and set HASH_PEPPER to its output/);
});

Deno.test("check explains a pepper that is the JWT secret: keep the pepper, rotate the secret", async () => {
  await using d = await hardenedDeployment();
  d.env.HASH_PEPPER = d.env.JWT_SECRET_KEY = freshSecret();
  const [finding] = only((await d.check()).report.findings, "CIT-051");
  assert.match(finding.found, /^HASH_PEPPER is the same value as JWT_SECRET_KEY/);
  assert.match(finding.fix, /^Keep HASH_PEPPER .* move JWT_SECRET_KEY to JWT_SECRET_KEY_PREVIOUS/);
});

Deno.test("the pepper and field-key findings never show a secret's value", async () => {
  await using d = await hardenedDeployment();
  const old = fieldKey();
  await storeSigningKey(d, old);
  const weak = "change-me-to-a-long-random-pepper-please";
  Object.assign(d.env, {
    HASH_PEPPER: weak,
    ENCRYPTION_KEY: d.env.DATABASE_ENCRYPTION_KEY,
    ENCRYPTION_KEY_PREVIOUS: fieldKey(),
  });
  const { findings } = (await d.check()).report;
  const ids = new Set(findings.map((f) => f.id));
  for (const id of ["CIT-051", "CIT-053", "CIT-054", "CIT-055"]) assert.ok(ids.has(id), id);
  for (const f of findings) {
    for (const secret of [weak, old, d.env.ENCRYPTION_KEY, d.env.ENCRYPTION_KEY_PREVIOUS]) {
      assert.ok(!f.found.includes(secret) && !f.fix.includes(secret), `${f.id} shows a secret`);
    }
  }
});
