/**
 * The `citadel audit` command: verify, export and prune the tamper-evident audit log.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import { connect } from "../db/connect.ts";
import { migrationStatus } from "../db/migrator.ts";
import type { Db } from "../db/schema.ts";
import { systemClock } from "../platform/clock.ts";
import { auditSigningSecrets } from "../services/audit_checkpoint.ts";
import { pruneAudit } from "../services/audit_prune.ts";
import { AUDIT_CSV_COLUMNS, auditEventJson, listAuditEvents } from "../services/audit_query.ts";
import { verifyAuditChain } from "../services/audit_verify.ts";
import { csvRow } from "../lib/csv.ts";
import { resolveDataDirSecrets } from "./data_dir_secrets.ts";
import { loadConfig } from "./load_config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { usageError } from "./usage_error.ts";

/** Usage of `citadel audit`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel audit verify
       citadel audit export [--since TIME] [--until TIME] [--format jsonl|csv]
       citadel audit prune --before TIME|<days>d [--dry-run]

TIME is ISO-8601 (2026-01-31 or 2026-01-31T12:00:00Z); <days>d means that many days ago.`;

const DAY_MS = 86_400_000;

/** Epoch ms of an ISO-8601 date or date-time, or of `<n>d` (n days before now). */
export function parseTime(option: string, value: string, now: number): number {
  const days = /^(\d{1,5})d$/.exec(value);
  if (days) return now - Number(days[1]) * DAY_MS;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new ExitError(EXIT_USAGE, `citadel audit: --${option} must be ISO-8601 or <days>d`);
  }
  return ms;
}

async function write(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

async function verify(db: Db, config: Config): Promise<number> {
  const result = await verifyAuditChain(db, { signingSecrets: auditSigningSecrets(config) });
  if (result.ok) {
    const head = result.head && result.head.seq > 0
      ? `; head seq ${result.head.seq} hash ${result.head.hash}`
      : "";
    console.log(`audit chain ok: ${result.checked} events checked${head}`);
    return 0;
  }
  const broken = result.firstBroken!;
  console.log(`audit chain BROKEN at seq ${broken.seq} (id ${broken.id}): ${broken.reason}`);
  console.log(`${result.checked} events before it verified`);
  return 1;
}

// Parsed before the configuration and database are opened, so a wrong argument is named
// even where the audit tables do not exist yet.
const SUBCOMMANDS = {
  verify: {},
  export: { since: { type: "string" }, until: { type: "string" }, format: { type: "string" } },
  prune: { before: { type: "string" }, "dry-run": { type: "boolean" } },
} as const;

/** A subcommand's options, checked before anything is opened. */
interface AuditOptions {
  since?: number;
  until?: number;
  format: "jsonl" | "csv";
  before?: number;
  dryRun: boolean;
}

function parseOptions(sub: keyof typeof SUBCOMMANDS, args: string[]): AuditOptions {
  const { values } = parseArgs({ args, options: SUBCOMMANDS[sub], strict: true });
  const raw = values as Record<string, string | boolean | undefined>;
  const now = systemClock.now();
  const time = (name: string) =>
    typeof raw[name] === "string" ? parseTime(name, raw[name] as string, now) : undefined;
  const format = raw.format ?? "jsonl";
  if (format !== "jsonl" && format !== "csv") {
    throw usageError(`audit ${sub}`, `--format must be jsonl or csv, not "${format}"`, USAGE);
  }
  if (sub === "prune" && !raw.before) {
    throw usageError("audit prune", "--before is required", USAGE);
  }
  return {
    since: time("since"),
    until: time("until"),
    format,
    before: time("before"),
    dryRun: raw["dry-run"] === true,
  };
}

async function exportEvents(db: Db, options: AuditOptions): Promise<number> {
  const { format } = options;
  const filter = { since: options.since, until: options.until };
  if (format === "csv") await write(csvRow(AUDIT_CSV_COLUMNS));
  let afterSeq: number | undefined;
  for (;;) {
    const rows = await listAuditEvents(db, filter, { order: "asc", afterSeq, limit: 500 });
    if (rows.length === 0) break;
    const items = rows.map(auditEventJson);
    await write(
      format === "csv"
        ? items.map((item) => csvRow(AUDIT_CSV_COLUMNS.map((c) => item[c]))).join("")
        : items.map((item) => JSON.stringify(item) + "\n").join(""),
    );
    afterSeq = Number(rows[rows.length - 1].seq);
  }
  return 0;
}

async function prune(db: Db, config: Config, options: AuditOptions): Promise<number> {
  const before = options.before!;
  const [signingKey, ...verifySecrets] = auditSigningSecrets(config);
  if (!signingKey) {
    throw new ExitError(EXIT_USAGE, "citadel audit prune: set JWT_SECRET_KEY or HASH_PEPPER");
  }
  const { dryRun } = options;
  const result = await pruneAudit(db, before, {
    signingKey,
    verifySecrets,
    clock: systemClock,
    dryRun,
  });
  const cut = new Date(before).toISOString();
  if (result.removed === 0) console.log(`nothing to prune: no event before ${cut}`);
  else if (dryRun) {
    console.log(`would prune ${result.removed} events (seq ${result.firstSeq}..${result.lastSeq})`);
  } else {
    console.log(
      `pruned ${result.removed} events (seq ${result.firstSeq}..${result.lastSeq}) before ${cut}; ` +
        `checkpoint ${result.checkpointId} signed`,
    );
  }
  return 0;
}

/** `citadel audit verify|export|prune`: check, dump or trim the tamper-evident audit log. */
export async function audit(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!Object.hasOwn(SUBCOMMANDS, sub ?? "")) {
    const problem = sub === undefined
      ? "missing subcommand: verify, export or prune"
      : `unknown subcommand "${sub}"`;
    throw usageError("audit", problem, USAGE);
  }
  const options = parseOptions(sub as keyof typeof SUBCOMMANDS, rest);
  // Checkpoints are signed with a key derived from HASH_PEPPER or the JWT secret, the
  // development one included, so the CLI must see the same secrets as the server.
  const config = await resolveDataDirSecrets(
    await loadConfig(),
    (m) => console.error(`warning: ${m}`),
  );
  const { db } = await connect(config);
  try {
    const status = await migrationStatus(db);
    if (!status.find((s) => s.name === "0005_audit")?.applied) {
      throw new ExitError(
        1,
        "citadel audit: the audit tables do not exist yet; run citadel migrate",
      );
    }
    if (sub === "verify") return await verify(db, config);
    if (sub === "export") return await exportEvents(db, options);
    return await prune(db, config, options);
  } finally {
    await db.destroy();
  }
}
