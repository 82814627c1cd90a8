/**
 * Every subcommand of the binary and every form it takes, in one table: `main` dispatches
 * with it, answers `--help` from it and lists every form in the top-level help, so a
 * command cannot exist without a usage.
 */
import { admin, USAGE as ADMIN_USAGE } from "./admin.ts";
import { audit, USAGE as AUDIT_USAGE } from "./audit.ts";
import { backup, BACKUP_USAGE, restore, RESTORE_USAGE } from "./backup.ts";
import { check, USAGE as CHECK_USAGE } from "./check.ts";
import { cleanup, USAGE as CLEANUP_USAGE } from "./cleanup.ts";
import { email, USAGE as EMAIL_USAGE } from "./email.ts";
import { USAGE as IMPORT_USERS_USAGE } from "./import_users.ts";
import { keys, USAGE as KEYS_USAGE } from "./keys.ts";
import { migrate, USAGE as MIGRATE_USAGE } from "./migrate.ts";
import { USAGE as MIGRATE_UUID_USAGE } from "./migrate_uuid.ts";
import { secret, USAGE as SECRET_USAGE } from "./secret.ts";
import { serve, USAGE as SERVE_USAGE } from "./serve.ts";
import { USAGE as USERS_USAGE, users } from "./users.ts";

/** One way to call a command, as the top-level help lists it. */
export interface CommandForm {
  /** The command and its subcommand, e.g. `["migrate", "uuid"]`. */
  words: string[];
  /** What follows the words, e.g. `--database FILE [options]`. */
  args: string;
  summary: string;
}

/** A subcommand of the binary. */
export interface Command {
  run(args: string[]): Promise<number>;
  /** Printed by `citadel <command> --help` and after a usage error. */
  usage: string;
  /** Subcommands with a usage of their own, e.g. `migrate uuid`. */
  subUsage?: Record<string, string>;
}

/** Every subcommand, by name. */
export const COMMANDS: Record<string, Command> = {
  serve: { run: serve, usage: SERVE_USAGE },
  migrate: {
    run: migrate,
    usage: MIGRATE_USAGE,
    subUsage: { uuid: MIGRATE_UUID_USAGE, "import-users": IMPORT_USERS_USAGE },
  },
  admin: { run: admin, usage: ADMIN_USAGE },
  users: { run: users, usage: USERS_USAGE },
  secret: { run: secret, usage: SECRET_USAGE },
  check: { run: check, usage: CHECK_USAGE },
  audit: { run: audit, usage: AUDIT_USAGE },
  keys: { run: keys, usage: KEYS_USAGE },
  backup: { run: backup, usage: BACKUP_USAGE },
  restore: { run: restore, usage: RESTORE_USAGE },
  cleanup: { run: cleanup, usage: CLEANUP_USAGE },
  email: { run: email, usage: EMAIL_USAGE },
};

const form = (words: string, args: string, summary: string): CommandForm => ({
  words: words.split(" "),
  args,
  summary,
});

/** Every form of every command, in the order the top-level help lists them. */
export const FORMS: readonly CommandForm[] = [
  form("serve", "[--workers N]", "Run the HTTP server (migrations and first super admin first)"),
  form("migrate up", "", "Apply pending schema migrations (also plain `citadel migrate`)"),
  form("migrate status", "", "List schema migrations: applied, pending or changed"),
  form("migrate uuid", "--database FILE [options]", "Convert integer ids of a database to UUIDs"),
  form(
    "migrate import-users",
    "--from FILE --table T [options]",
    "Copy users of a legacy database",
  ),
  form("admin create", "--email EMAIL [--name N] [--role R]", "Create an administrator"),
  form(
    "admin reset-password",
    "--email EMAIL [--revoke-api-keys]",
    "Set a user's password, revoke their sessions (and API keys)",
  ),
  form(
    "admin reset-mfa",
    "--email EMAIL",
    "Turn a user's second factor off and revoke their sessions",
  ),
  form(
    "users prune-inactive",
    "--days N [--delete] [--dry-run]",
    "Disable or delete idle accounts",
  ),
  form("secret", "", "Print a new random secret for JWT_SECRET_KEY"),
  form("check", "[--json] [--fail-level L] [--url URL]", "Audit the deployment"),
  form("audit verify", "", "Verify the audit log's hash chain"),
  form("audit export", "[--since T] [--until T] [--format F]", "Print audit events (jsonl|csv)"),
  form("audit prune", "--before T [--dry-run]", "Remove old audit events behind a checkpoint"),
  form("keys list", "[--json]", "List the JWT signing keys and their states"),
  form("keys rotate", "[--force]", "Publish a next signing key; again later, make it current"),
  form("keys retire", "<kid>", "Retire a signing key at once (compromise)"),
  form("keys reencrypt", "", "Move every encrypted field to the current ENCRYPTION_KEY"),
  form("backup", "[--out FILE]", "Write a verified copy of the database (mode 600)"),
  form("restore", "FILE [--yes]", "Replace the database with a verified backup"),
  form("cleanup", "", "Remove expired sessions, old login records and counters"),
  form("email test", "--to ADDRESS", "Send a test message and report the SMTP outcome"),
  form("email send", "", "Deliver the outbox's due messages once (cron on the edge)"),
];

/** The synopsis of a form after `citadel`: `migrate uuid --database FILE [options]`. */
export function synopsis(f: CommandForm): string {
  return [...f.words, f.args].filter(Boolean).join(" ");
}

/** The usage of the most specific command the arguments name (`migrate uuid` over `migrate`). */
export function usageOf(name: string, rest: readonly string[]): string {
  const command = COMMANDS[name];
  return command.subUsage?.[rest[0]] ?? command.usage;
}

/** The form named by the arguments, e.g. "migrate uuid", for error messages. */
export function formName(name: string, rest: readonly string[]): string {
  return FORMS.some((f) => f.words[0] === name && f.words[1] === rest[0])
    ? `${name} ${rest[0]}`
    : name;
}

/** True when `--help` or `-h` appears among the arguments (before a `--`). */
export function asksForHelp(rest: readonly string[]): boolean {
  const end = rest.indexOf("--");
  return (end < 0 ? rest : rest.slice(0, end)).some((a) => a === "--help" || a === "-h");
}
