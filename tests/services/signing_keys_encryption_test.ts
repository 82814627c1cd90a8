/**
 * The private signing keys at rest, as someone holding a copy of the database file (but
 * not ENCRYPTION_KEY) sees them: the bytes of the file and its WAL hold the private key
 * in no encoding, and an envelope moved to another row, column or table does not decrypt,
 * so swapping two rows' envelopes leaves a ring that refuses to start instead of signing
 * with the wrong key.
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { fromBase64Url, hex, toBase64Url } from "../../src/lib/crypto.ts";
import { type FieldContext, FieldCryptoError } from "../../src/lib/field_crypto.ts";
import type { AsymmetricAlgorithm } from "../../src/lib/signing_algorithms.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { createServices } from "../../src/services/container.ts";
import { PRIVATE_KEY_FIELD } from "../../src/services/signing_keys.ts";
import { buildTestApp, tempDir } from "../support/helpers.ts";
import { asymmetricEnv, keyRows, privateKeyOfRow } from "../support/signing_key_support.ts";
import { bytesContain, databaseFiles } from "../support/database_files.ts";

const ADMIN = { actorType: "user" as const, actorId: crypto.randomUUID() };

async function installation(dir: string, alg: AsymmetricAlgorithm) {
  const t = await buildTestApp(
    asymmetricEnv(alg, { DATABASE_URL: `file:${dir}/citadel.db` }),
    { clock: new ManualClock(Date.now()) },
  );
  const services = createServices(t.deps);
  await services.keyRing!.current();
  await services.keyAdmin.rotate({}, ADMIN);
  return { t, services };
}

/** Every encoding of a secret's bytes someone might grep a database file for. */
function encodings(bytes: Uint8Array): Map<string, Uint8Array> {
  const text = new TextEncoder();
  const std = btoa(String.fromCharCode(...bytes));
  return new Map<string, Uint8Array>([
    ["raw", bytes],
    ["base64", text.encode(std)],
    ["base64 without padding", text.encode(std.replace(/=+$/, ""))],
    ["base64url", text.encode(toBase64Url(bytes))],
    ["hex", text.encode(hex(bytes))],
    ["HEX", text.encode(hex(bytes).toUpperCase())],
  ]);
}

/** The secret parts of a PKCS #8 private key: the whole DER, and the bare private scalar. */
async function secretParts(alg: AsymmetricAlgorithm, pkcs8Text: string) {
  const der = fromBase64Url(pkcs8Text);
  const params = alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  const key = await crypto.subtle.importKey("pkcs8", der, params, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const scalar = fromBase64Url(jwk.d!);
  assert.equal(scalar.length, 32);
  if (alg === "EdDSA") {
    assert.deepEqual(der.slice(-32), scalar, "the Ed25519 seed ends the PKCS #8 DER");
  }
  return { der, scalar };
}

for (const alg of ["EdDSA", "ES256"] as AsymmetricAlgorithm[]) {
  Deno.test(`${alg}: no private key can be found in the database file or its WAL, in any encoding`, async () => {
    await using dir = await tempDir();
    const { t, services } = await installation(dir.path, alg);
    const rows = await keyRows(t.deps.db);
    assert.equal(rows.length, 2, "current and next");
    const needles = new Map<string, Uint8Array>();
    for (const row of rows) {
      assert.match(row.private_key, /^v1\./, "stored as a field-encryption envelope");
      const { pkcs8 } = await privateKeyOfRow(services, row);
      const { der, scalar } = await secretParts(alg, pkcs8);
      for (const [what, bytes] of encodings(der)) {
        needles.set(`${row.state} PKCS #8 ${what}`, bytes);
      }
      for (const [what, bytes] of encodings(scalar)) {
        needles.set(`${row.state} private scalar ${what}`, bytes);
      }
      // A 16-byte window of the scalar: a partial leak is a leak too.
      needles.set(`${row.state} scalar prefix`, scalar.slice(0, 16));
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
    assert.ok(
      [...before.keys()].some((n) => n.endsWith("-wal")),
      "the WAL is searched too",
    );
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(t.deps.db);
    await search("after a checkpoint");
    const logs = t.logs.join("\n");
    for (const row of rows) {
      const { pkcs8 } = await privateKeyOfRow(services, row);
      assert.ok(!logs.includes(pkcs8), "nor in the log");
    }
    await t.close();
    await search("after closing");
    // The control: the search finds what is there (the public key, stored in clear).
    const publicX = new TextEncoder().encode(JSON.parse(rows[0].public_jwk).x);
    const file = (await databaseFiles(dir.path)).get("citadel.db")!;
    assert.ok(bytesContain(file, publicX), "the search would have found the key");
  });
}

Deno.test("an envelope decrypts only in its own row, column and table: swapped, moved or copied elsewhere it is a FieldCryptoError", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path, "EdDSA");
  try {
    const [a, b] = await keyRows(t.deps.db);
    const cipher = await services.fieldCipher();
    const at = (rowId: string, overrides: Partial<FieldContext> = {}): FieldContext => ({
      ...PRIVATE_KEY_FIELD,
      rowId,
      ...overrides,
    });
    assert.ok(await cipher.decrypt(a.private_key, at(a.kid)), "the control decrypts");
    const misplaced: [string, string, FieldContext][] = [
      ["a's envelope in b's row", a.private_key, at(b.kid)],
      ["b's envelope in a's row", b.private_key, at(a.kid)],
      ["another column", a.private_key, at(a.kid, { column: "public_jwk" })],
      ["another table", a.private_key, at(a.kid, { table: "users" })],
      [
        "another table and column",
        a.private_key,
        { table: "users", column: "password_hash", rowId: a.kid },
      ],
    ];
    for (const [what, envelope, context] of misplaced) {
      await assert.rejects(cipher.decrypt(envelope, context), FieldCryptoError, what);
    }
    // Another installation's ENCRYPTION_KEY does not know the key id at all.
    const other = await buildTestApp(asymmetricEnv("EdDSA"));
    try {
      const otherCipher = await createServices(other.deps).fieldCipher();
      await assert.rejects(
        otherCipher.decrypt(a.private_key, at(a.kid)),
        (error: unknown) =>
          error instanceof FieldCryptoError && /unknown key id/.test(error.message),
      );
    } finally {
      await other.close();
    }
  } finally {
    await t.close();
  }
});

Deno.test("two signing keys' envelopes swapped by SQL: neither decrypts, and a key ring starting over the file refuses with the row named", async () => {
  await using dir = await tempDir();
  const { t, services } = await installation(dir.path, "EdDSA");
  try {
    const current = (await keyRows(t.deps.db)).find((r) => r.state === "current")!;
    const next = (await keyRows(t.deps.db)).find((r) => r.state === "next")!;
    await sql`UPDATE signing_keys SET private_key = CASE kid
      WHEN ${current.kid} THEN ${next.private_key}
      WHEN ${next.kid} THEN ${current.private_key} END
      WHERE kid IN (${current.kid}, ${next.kid})`.execute(t.deps.db);
    const swapped = await keyRows(t.deps.db);
    assert.equal(swapped.find((r) => r.kid === current.kid)!.private_key, next.private_key);
    for (const row of swapped) {
      await assert.rejects(privateKeyOfRow(services, row), FieldCryptoError, row.kid);
    }
    const fresh = createServices(t.deps);
    await assert.rejects(Promise.resolve(fresh.keyRing!.current()), (error: unknown) => {
      assert.ok(error instanceof FieldCryptoError, String(error));
      // The ring proves every key it loads; whichever swapped row it meets first is named.
      assert.match(
        error.message,
        new RegExp(`signing_keys\\.private_key of row (${current.kid}|${next.kid})`),
      );
      return true;
    });
    await assert.rejects(fresh.jwt.verify("a.b.c", t.clock.now()), FieldCryptoError);
    assert.equal((await keyRows(t.deps.db)).length, 2, "and it created no key to work around it");
  } finally {
    await t.close();
  }
});
