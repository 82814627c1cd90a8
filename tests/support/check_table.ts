import assert from "node:assert/strict";
import { CheckReportSchema } from "../../src/lib/check_report_schema.ts";
import {
  type Deployment,
  type DeploymentOptions,
  hardenedDeployment,
  significant,
} from "./check_deployment.ts";

const DAY_MS = 86_400_000;

/** One defect added to a hardened deployment, and what check must say about it. */
export interface Case {
  defect: string;
  /** "CIT-NNN severity" of every finding above info, sorted. */
  expected: string[];
  exitCode: 0 | 1;
  /** Info findings that must be present too. */
  info?: string[];
  fixture?: DeploymentOptions;
  apply(d: Deployment): void | Promise<void>;
}

export async function withDb(
  d: Deployment,
  work: (db: Awaited<ReturnType<Deployment["open"]>>) => Promise<unknown>,
) {
  const db = await d.open();
  try {
    await work(db);
  } finally {
    await db.destroy();
  }
}

export async function addUser(
  d: Deployment,
  fields: {
    email: string;
    role: string;
    hash?: string;
    lastLogin?: number | null;
    created?: number;
  },
) {
  await withDb(d, (db) =>
    db.insertInto("users").values({
      id: crypto.randomUUID(),
      email: fields.email,
      username: null,
      password_hash: fields.hash ??
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
      name: null,
      role: fields.role as "user",
      status: "active",
      created_at: fields.created ?? d.now,
      updated_at: d.now,
      last_login_at: fields.lastLogin === undefined ? d.now : fields.lastLogin,
    }).execute());
}

export async function addApiKey(d: Deployment, lifetimeDays: number) {
  await withDb(d, async (db) => {
    const owner = await db.selectFrom("users").select("id").executeTakeFirstOrThrow();
    await db.insertInto("api_keys").values({
      id: crypto.randomUUID(),
      user_id: owner.id,
      name: "old integration",
      prefix: "ctd_wxyz",
      scopes: "[]",
      rate_limit_per_minute: null,
      created_at: d.now - DAY_MS,
      expires_at: d.now - DAY_MS + lifetimeDays * DAY_MS,
      last_used_at: null,
      last_used_ip: null,
      revoked_at: null,
    }).execute();
  });
}

/** Registers one test per case: exactly the expected findings above info, and the exit code. */
export function tableTest(cases: readonly Case[]): void {
  for (const c of cases) {
    const ids = c.expected.length > 0 ? c.expected.join(", ") : "nothing above info";
    Deno.test(`check reports ${ids} for ${c.defect} and exits ${c.exitCode}`, async () => {
      await using d = await hardenedDeployment(c.fixture);
      await c.apply(d);
      const { report, exitCode } = await d.check();
      assert.deepEqual(significant(report.findings), c.expected);
      assert.equal(exitCode, c.exitCode);
      for (const id of c.info ?? []) {
        assert.ok(report.findings.some((f) => f.id === id), `${id} missing`);
      }
      CheckReportSchema.parse(report);
      for (const f of report.findings) {
        for (
          const secret of [
            d.env.JWT_SECRET_KEY,
            d.env.JWT_SECRET_KEY_PREVIOUS,
            d.env.SUPER_ADMIN_PASSWORD,
            "hunter2",
          ]
        ) {
          if (secret) assert.ok(!f.found.includes(secret), `${f.id} shows a secret`);
        }
      }
    });
  }
}
