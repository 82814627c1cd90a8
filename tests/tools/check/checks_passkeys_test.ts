/**
 * CIT-036 and CIT-093 of `citadel check` (src/tools/check/checks_passkeys.ts): counter
 * regressions the audit log recorded in the last 7 days, and production without a relying
 * party. The audit rows are written by the real audit chain in the hardened deployment's
 * database.
 */
import { ManualClock } from "../../../src/platform/clock.ts";
import { recordAudit } from "../../../src/services/audit.ts";
import type { Deployment } from "../../support/check_deployment.ts";
import { type Case, tableTest, withDb } from "../../support/check_table.ts";

const DAY_MS = 86_400_000;

/** The audit event of a refused assertion whose counter went backwards, `daysAgo` days ago. */
function regression(d: Deployment, daysAgo: number) {
  return withDb(d, (db) =>
    recordAudit(db, {
      actorType: "anonymous",
      actorId: null,
      action: "passkey.counter_regression",
      outcome: "denied",
      targetType: "user",
      targetId: crypto.randomUUID(),
      details: { passkey_id: crypto.randomUUID(), stored_counter: 9, presented_counter: 3 },
    }, { clock: new ManualClock(d.now - daysAgo * DAY_MS) }));
}

const CASES: Case[] = [
  {
    defect: "a passkey presented a counter that went backwards 2 days ago",
    expected: ["CIT-036 high"],
    exitCode: 1,
    apply: (d) => regression(d, 2),
  },
  {
    defect: "a counter regression 8 days ago",
    expected: [],
    exitCode: 0,
    apply: (d) => regression(d, 8),
  },
  {
    defect: "production without PUBLIC_URL or WEBAUTHN_RP_ID",
    expected: [],
    info: ["CIT-093"],
    exitCode: 0,
    apply() {},
  },
  {
    defect: "WEBAUTHN_RP_ID that does not cover PUBLIC_URL's host",
    expected: ["CIT-090 high"],
    exitCode: 1,
    apply(d) {
      d.env.PUBLIC_URL = "https://auth.example.com";
      d.env.WEBAUTHN_RP_ID = "example.org";
    },
  },
  {
    defect: "an http:// WEBAUTHN_ORIGINS entry in production",
    expected: ["CIT-091 high"],
    exitCode: 1,
    apply(d) {
      d.env.PUBLIC_URL = "https://auth.example.com";
      d.env.WEBAUTHN_RP_ID = "example.com";
      d.env.WEBAUTHN_ORIGINS = "http://app.example.com";
    },
  },
];

tableTest(CASES);
