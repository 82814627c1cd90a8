import assert from "node:assert/strict";
import { sql } from "kysely";
import { SYSTEM_ACTOR } from "../../../src/services/audit_events.ts";
import { createKeyAdmin } from "../../../src/services/key_admin.ts";
import { hs256KeyId } from "../../../src/services/jwt.ts";
import type { Finding } from "../../../src/tools/check/types.ts";
import {
  type Deployment,
  freshSecret,
  hardenedDeployment,
  significant,
  withSigningKeys,
} from "../../support/check_deployment.ts";
import { type Case, tableTest, withDb } from "../../support/check_table.ts";
import { startServer } from "../../support/helpers.ts";

const DAY_MS = 86_400_000;

/** What `serve` records at start with HS256: when the current JWT_SECRET_KEY first signed. */
async function recordSecret(d: Deployment, at: number): Promise<void> {
  const clock = { now: () => at };
  await withSigningKeys(
    d,
    { encryptionKey: freshSecret(32), at },
    (signingKeys, db) =>
      createKeyAdmin(
        { algorithm: "HS256", secret: d.env.JWT_SECRET_KEY },
        { db, clock, signingKeys, keyRing: undefined },
      ).start(),
  );
}

/** EdDSA keys through the real life cycle: first key, then a next key published at `nextAt`. */
async function publishNext(d: Deployment, key: string, nextAt: number): Promise<void> {
  await withSigningKeys(
    d,
    { encryptionKey: key, at: nextAt - 100 * DAY_MS },
    (keys) => keys.ensureCurrent("EdDSA"),
  );
  await withSigningKeys(
    d,
    { encryptionKey: key, at: nextAt },
    (keys) => keys.rotate("EdDSA", {}, SYSTEM_ACTOR),
  );
}

/** A rotated JWT secret: a new JWT_SECRET_KEY, the old one kept as JWT_SECRET_KEY_PREVIOUS. */
function rotateJwtSecret(d: Deployment): void {
  d.env.JWT_SECRET_KEY_PREVIOUS = freshSecret();
  d.env.JWT_SECRET_KEY = freshSecret();
}

function asymmetric(d: Deployment): string {
  const key = freshSecret(32);
  Object.assign(d.env, { JWT_ALGORITHM: "EdDSA", ENCRYPTION_KEY: key });
  return key;
}

const CASES: Case[] = [
  // CIT-056: JWT_SECRET_KEY_PREVIOUS outliving its tokens
  {
    defect: "JWT_SECRET_KEY_PREVIOUS two days after the new secret first signed",
    expected: ["CIT-056 medium"],
    exitCode: 0,
    async apply(d) {
      rotateJwtSecret(d);
      await recordSecret(d, d.now - 2 * DAY_MS);
    },
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS 20 hours after the new secret first signed",
    expected: [],
    exitCode: 0,
    async apply(d) {
      rotateJwtSecret(d);
      await recordSecret(d, d.now - 20 * 3_600_000);
    },
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS with a new secret that has not signed yet",
    expected: [],
    exitCode: 0,
    apply: (d) => rotateJwtSecret(d),
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS kept with EdDSA, where no HS256 token verifies",
    expected: [],
    exitCode: 0,
    async apply(d) {
      rotateJwtSecret(d);
      await recordSecret(d, d.now - 30 * DAY_MS);
      asymmetric(d);
    },
  },
  {
    defect: "JWT_SECRET_KEY_PREVIOUS on a database from before signing keys (0007 pending)",
    expected: ["CIT-025 high"],
    exitCode: 1,
    async apply(d) {
      rotateJwtSecret(d);
      asymmetric(d);
      await withDb(d, async (db) => {
        await db.deleteFrom("citadel_migrations").where("name", "=", "0007_signing_keys")
          .execute();
        await sql`DROP TABLE signing_keys`.execute(db);
        await sql`DROP TABLE hs256_secrets`.execute(db);
      });
    },
  },
  // CIT-057: a next key never promoted
  {
    defect: "a next EdDSA key published 100 days ago",
    expected: ["CIT-057 low"],
    exitCode: 0,
    apply: (d) => publishNext(d, asymmetric(d), d.now - 100 * DAY_MS),
  },
  {
    defect: "a next EdDSA key published 30 days ago",
    expected: [],
    exitCode: 0,
    apply: (d) => publishNext(d, asymmetric(d), d.now - 30 * DAY_MS),
  },
  {
    defect: "an old next EdDSA key after switching back to HS256",
    expected: [],
    exitCode: 0,
    async apply(d) {
      const key = asymmetric(d);
      await publishNext(d, key, d.now - 100 * DAY_MS);
      d.env.JWT_ALGORITHM = "HS256";
    },
  },
  {
    // Deliberately no finding: an expired previous key verifies nothing and has left the JWKS.
    defect: "a previous EdDSA key that expired months ago",
    expected: [],
    exitCode: 0,
    async apply(d) {
      const key = asymmetric(d);
      await publishNext(d, key, d.now - 200 * DAY_MS);
      await withSigningKeys(
        d,
        { encryptionKey: key, at: d.now - 190 * DAY_MS },
        (keys) => keys.rotate("EdDSA", {}, SYSTEM_ACTOR),
      );
      await withSigningKeys(
        d,
        { encryptionKey: key, at: d.now - 10 * DAY_MS },
        (keys) => keys.rotate("EdDSA", {}, SYSTEM_ACTOR),
      );
    },
  },
];

tableTest(CASES);

function only(findings: readonly Finding[], id: string): Finding[] {
  return findings.filter((f) => f.id === id);
}

Deno.test("serve records the JWT secret it signs with; check reports the previous one once its tokens are long expired", async () => {
  await using d = await hardenedDeployment();
  rotateJwtSecret(d);
  // `serve` records the secret before it listens.
  const server = await startServer(d.env, { cwd: d.dir });
  await server.stop();
  let startedAt: number;
  await withDb(d, async (db) => {
    const row = await db.selectFrom("hs256_secrets").selectAll()
      .where("kid", "=", await hs256KeyId(d.env.JWT_SECRET_KEY)).executeTakeFirstOrThrow();
    startedAt = row.first_signed_at;
  });

  const today = await d.check({ now: startedAt! + 60_000 });
  assert.deepEqual(significant(today.report.findings), []);

  const later = await d.check({ now: startedAt! + 2 * DAY_MS + 60_000 });
  assert.deepEqual(significant(later.report.findings), ["CIT-056 medium"]);
  assert.equal(later.exitCode, 0);
  const [finding] = only(later.report.findings, "CIT-056");
  assert.equal(finding.setting, "JWT_SECRET_KEY_PREVIOUS");
  assert.equal(
    finding.found,
    `JWT_SECRET_KEY has signed since ${new Date(startedAt!).toISOString()}, so every access ` +
      "token JWT_SECRET_KEY_PREVIOUS signed expired 1 day(s) ago (ACCESS_TOKEN_TTL=900 s); it " +
      "still verifies tokens anyone holding it can forge",
  );
  assert.match(finding.fix, /^Unset JWT_SECRET_KEY_PREVIOUS\./);
  for (const secret of [d.env.JWT_SECRET_KEY, d.env.JWT_SECRET_KEY_PREVIOUS]) {
    assert.ok(!finding.found.includes(secret) && !finding.fix.includes(secret));
  }
});

Deno.test("check names the waiting next key and how to promote or retire it", async () => {
  await using d = await hardenedDeployment();
  await publishNext(d, asymmetric(d), d.now - 120 * DAY_MS);
  let next = "";
  await withDb(d, async (db) => {
    next = (await db.selectFrom("signing_keys").select("kid").where("state", "=", "next")
      .executeTakeFirstOrThrow()).kid;
  });
  const [finding] = only((await d.check()).report.findings, "CIT-057");
  assert.equal(finding.severity, "low");
  assert.equal(
    finding.found,
    `next key ${next} (EdDSA) was published 120 days ago and never made current, so the ` +
      "current key has gone on signing since",
  );
  assert.equal(
    finding.fix,
    `Run \`citadel keys rotate\` to make it current, or \`citadel keys retire ${next}\` if ` +
      "the rotation was abandoned",
  );
});
