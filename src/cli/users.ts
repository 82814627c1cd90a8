/**
 * The `citadel users prune-inactive` command: disables or deletes accounts with no login for N
 * days.
 */
import { parseArgs } from "node:util";
import { openCommandRuntime } from "./command_runtime.ts";
import { loadConfig } from "./load_config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import {
  countInactiveSuperAdmins,
  type InactiveAccount,
  inactiveAccounts,
  retireAccounts,
} from "../services/account_maintenance.ts";
import { badArgument, usageError } from "./usage_error.ts";

/** Usage of `citadel users`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel users prune-inactive --days N [--delete] [--dry-run]

Disables (or with --delete, deletes) accounts whose last login, or creation when they
never logged in, is more than N days ago. Super admins are never pruned. --dry-run
lists the accounts and changes nothing.`;

const DAY_MS = 86_400_000;

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

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function describe(user: InactiveAccount): string {
  const seen = user.last_login_at === null
    ? `never logged in (created ${day(user.created_at)})`
    : `last login ${day(user.last_login_at)}`;
  return `  ${user.id}  ${user.email}  ${user.role}  ${user.status}  ${seen}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
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
    const users = await inactiveAccounts(db, cutoff, remove);
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
    const revoked = await retireAccounts({ db, clock }, users.map((u) => u.id), remove);
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
