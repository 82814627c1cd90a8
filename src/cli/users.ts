import { parseArgs } from "node:util";
import type { Db, Role, UserStatus } from "../db/schema.ts";
import { openCommandRuntime } from "./command_runtime.ts";
import { loadConfig } from "./load_config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { revokeAllSessions } from "../services/session_revocation.ts";
import { badArgument, usageError } from "./usage_error.ts";

/** Usage of `citadel users`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel users prune-inactive --days N [--delete] [--dry-run]

Disables (or with --delete, deletes) accounts whose last login, or creation when they
never logged in, is more than N days ago. Super admins are never pruned. --dry-run
lists the accounts and changes nothing.`;

const DAY_MS = 86_400_000;
const CHUNK = 500;

interface Candidate {
  id: string;
  email: string;
  role: Role;
  status: UserStatus;
  last_login_at: number | null;
  created_at: number;
}

function parseDays(raw: string | undefined): number {
  const days = Number(raw);
  if (raw === undefined || !Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new ExitError(
      EXIT_USAGE,
      `--days must be a whole number of days from 1 to 36500\n\n${USAGE}`,
    );
  }
  return days;
}

function inactiveUsers(db: Pick<Db, "selectFrom">, cutoff: number, includeDisabled: boolean) {
  let query = db.selectFrom("users")
    .select(["id", "email", "role", "status", "last_login_at", "created_at"])
    .where("role", "!=", "super_admin")
    .where((eb) => eb(eb.fn.coalesce("last_login_at", "created_at"), "<", cutoff));
  if (!includeDisabled) query = query.where("status", "=", "active");
  return query.orderBy("created_at").orderBy("id").execute();
}

async function countInactiveSuperAdmins(db: Db, cutoff: number): Promise<number> {
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("role", "=", "super_admin")
    .where((eb) => eb(eb.fn.coalesce("last_login_at", "created_at"), "<", cutoff))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function describe(user: Candidate): string {
  const seen = user.last_login_at === null
    ? `never logged in (created ${day(user.created_at)})`
    : `last login ${day(user.last_login_at)}`;
  return `  ${user.id}  ${user.email}  ${user.role}  ${user.status}  ${seen}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function apply(db: Db, ids: string[], remove: boolean, now: number): Promise<number> {
  return await db.transaction().execute(async (trx) => {
    // Sessions have no foreign key to users: revoked rows stay behind as tombstones, so
    // every server still refuses their tokens after the user is gone.
    const reason = remove ? "deleted" : "disabled";
    const revoked = await revokeAllSessions(trx, ids, { reason, now });
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      if (remove) await trx.deleteFrom("users").where("id", "in", chunk).execute();
      else {
        await trx.updateTable("users").set({ status: "disabled", updated_at: now })
          .where("id", "in", chunk).execute();
      }
    }
    return revoked;
  });
}

async function pruneInactive(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      days: { type: "string" },
      delete: { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw badArgument("users prune-inactive", positionals[0], USAGE);
  const days = parseDays(values.days);
  const remove = values.delete;
  const dryRun = values["dry-run"];

  const config = await loadConfig();
  const runtime = await openCommandRuntime(config);
  try {
    const { db, clock } = runtime.deps;
    const now = clock.now();
    const cutoff = now - days * DAY_MS;
    const users = await inactiveUsers(db, cutoff, remove);
    const action = remove ? "deleted" : "disabled";
    console.log(`Accounts not seen for more than ${plural(days, "day")} (since ${day(cutoff)}):`);
    for (const user of users) console.log(describe(user));
    if (users.length === 0) console.log("  none");
    const skipped = await countInactiveSuperAdmins(db, cutoff);
    const note = skipped > 0 ? `; ${plural(skipped, "super admin")} skipped (never pruned)` : "";
    if (dryRun) {
      console.log(`Dry run: ${plural(users.length, "account")} would be ${action}${note}`);
      return 0;
    }
    const revoked = await apply(db, users.map((u) => u.id), remove, now);
    const sessions = plural(revoked, "session");
    console.log(`${plural(users.length, "account")} ${action}, ${sessions} revoked${note}`);
    return 0;
  } finally {
    await runtime.close();
  }
}

/** `citadel users prune-inactive --days N [--delete] [--dry-run]`. */
export async function users(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "prune-inactive") return await pruneInactive(rest);
  const problem = sub === undefined
    ? "missing subcommand: prune-inactive"
    : `unknown subcommand "${sub}"`;
  throw usageError("users", problem, USAGE);
}
