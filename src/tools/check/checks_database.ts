/**
 * The `citadel check` findings about DATABASE_URL and the local database's files and
 * encryption (CIT-020 to CIT-024).
 */
import { isCommonPassword, loadCommonPasswords } from "../../services/common_passwords.ts";
import { tooOpen } from "./file_modes.ts";
import { isPlaceholderSecret } from "./secret_strength.ts";
import { type CheckContext, type CheckDefinition, defineCheck } from "./types.ts";

/** A password embedded in DATABASE_URL shorter than this is guessable offline. */
export const MIN_DATABASE_PASSWORD_LENGTH = 16;

function databaseUrl(context: CheckContext): URL | undefined {
  try {
    return new URL(context.config.databaseUrl);
  } catch {
    return undefined;
  }
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function weakPasswordReason(password: string): Promise<string | undefined> {
  if ([...password].length < MIN_DATABASE_PASSWORD_LENGTH) {
    return `is ${[...password].length} characters long (at least ${MIN_DATABASE_PASSWORD_LENGTH})`;
  }
  if (isCommonPassword(password, await loadCommonPasswords()) || isPlaceholderSecret(password)) {
    return "is a common or placeholder password";
  }
  const distinct = new Set(password).size;
  if (distinct < 8) return `uses only ${distinct} distinct characters`;
  return undefined;
}

function isFileDatabase(context: CheckContext): boolean {
  return context.config.databaseUrl.startsWith("file:");
}

/** DATABASE_URL and the files of a local database. */
export const DATABASE_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-020",
    severity: "critical",
    group: "database",
    title: "DATABASE_URL embeds a weak password",
    fix: "Use a random password of 32+ characters, or put the credential in DATABASE_AUTH_TOKEN",
    async run(context) {
      const url = databaseUrl(context);
      if (!url?.password) return [];
      const reason = await weakPasswordReason(decodeURIComponent(url.password));
      return reason
        ? [{ found: `the password in DATABASE_URL ${reason}`, setting: "DATABASE_URL" }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-021",
    severity: "high",
    group: "database",
    title: "Remote database connection without TLS",
    fix: "Use libsql:// (TLS) or https:// / wss:// in DATABASE_URL, and drop tls=0",
    run(context) {
      const url = databaseUrl(context);
      if (!url || url.protocol === "file:" || isLoopback(url.hostname)) return [];
      const plain = url.protocol === "http:" || url.protocol === "ws:" ||
        url.searchParams.get("tls") === "0";
      return plain
        ? [{
          found: `DATABASE_URL uses ${url.protocol}// to ${url.hostname}: credentials and data ` +
            "cross the network unencrypted",
          setting: "DATABASE_URL",
        }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-022",
    severity: "high",
    group: "database",
    title: "Database file readable or writable by others",
    fix: "chmod 600 the database file and its -wal/-shm files",
    run: (context) => context.files.databaseFiles.flatMap((f) => tooOpen(f, 0o600)),
  }),
  defineCheck({
    id: "CIT-023",
    severity: "high",
    group: "database",
    title: "Database directory open to others",
    fix: "chmod 700 the directory that holds the database",
    run: (context) => tooOpen(context.files.databaseDir, 0o700),
  }),
  defineCheck({
    id: "CIT-024",
    severity: "medium",
    group: "database",
    title: "Database not encrypted at rest in production",
    fix: "Set DATABASE_ENCRYPTION_KEY to a random value (`citadel secret`) when the database " +
      "is created; an existing unencrypted file must be recreated with the key set",
    run(context) {
      return context.production && isFileDatabase(context) && !context.config.databaseEncryptionKey
        ? [{
          found: "APP_ENV=production with a file database and no DATABASE_ENCRYPTION_KEY",
          setting: "DATABASE_ENCRYPTION_KEY",
        }]
        : [];
    },
  }),
];
