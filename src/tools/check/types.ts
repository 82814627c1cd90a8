/**
 * What `citadel check` is made of: severities, findings, check groups, the context checks read
 * and the check definition.
 */
import type { Config, ConfigProblem } from "../../config.ts";
import type { Db } from "../../db/schema.ts";
import type { LiveFacts } from "./live_probe.ts";
import { SEVERITIES } from "../../lib/check_report_schema.ts";

export { SEVERITIES };
export type Severity = typeof SEVERITIES[number];

/** True when `severity` is at or above (as bad as or worse than) `level`. */
export function atOrAbove(severity: Severity, level: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(level);
}

/** One problem found by a check. `found` never contains a secret's value. */
export interface Finding {
  id: string;
  severity: Severity;
  title: string;
  found: string;
  /** The exact setting or command that fixes it. */
  fix: string;
  /** The environment variable concerned, when there is one. */
  setting?: string;
}

/** What a check reports about one occurrence; id, severity and title come from the check. */
export interface Detail {
  found: string;
  /** Overrides the check's default fix. */
  fix?: string;
  setting?: string;
  /** Overrides the check's severity, for a check that reports rules of several severities. */
  severity?: Severity;
}

/** The area of a deployment a check looks at. */
export type CheckGroup =
  | "jwt"
  | "super_admin"
  | "database"
  | "http"
  | "files"
  | "passwords_keys"
  | "live"
  | "config";

/** A file or directory as the check saw it; `mode` is undefined where modes do not exist. */
export interface FileFacts {
  path: string;
  exists: boolean;
  isDirectory?: boolean;
  mode?: number;
}

/** The database as opened for the check, with the tables it already has. */
export interface DatabaseFacts {
  db: Db;
  tables: ReadonlySet<string>;
}

/**
 * The secrets `serve` reads from the data directory when their variables are unset
 * (cli/data_dir_secrets.ts), as the check found them; never shown in a finding.
 */
export interface DataDirSecrets {
  /** Where the hash pepper comes from: HASH_PEPPER, `DATA_DIR/hash_pepper`, or nowhere. */
  pepper: "variable" | "file" | "missing";
  /** `DATA_DIR/hash_pepper` as configured, for messages. */
  pepperFile: string;
  /**
   * The field-encryption key `serve` would use: a valid ENCRYPTION_KEY or, outside
   * production only, `DATA_DIR/encryption_key`.
   */
  encryptionKey?: string;
}

/** Everything the checks look at, gathered once by the caller (the CLI). */
export interface CheckContext {
  /** The environment with `.env` underneath it: raw values, as the server would read them. */
  env: Readonly<Record<string, string>>;
  /** Configuration parsed leniently: valid even when the server would refuse it. */
  config: Config;
  /** Every reason the server would refuse this configuration. */
  configProblems: readonly ConfigProblem[];
  production: boolean;
  /** Epoch milliseconds. */
  now: number;
  files: {
    envFile?: FileFacts;
    logDir?: FileFacts;
    logFiles: readonly FileFacts[];
    /** The database file and its -wal/-shm companions that exist. */
    databaseFiles: readonly FileFacts[];
    databaseDir?: FileFacts;
    tlsKey?: FileFacts;
  };
  process: { uid: number | null; executable?: FileFacts };
  secrets: DataDirSecrets;
  /** Undefined for a file database that does not exist yet or cannot be opened. */
  database?: DatabaseFacts;
  /** Why the database could not be opened, when it could not. */
  databaseError?: string;
  /** Present with `--url`. */
  live?: LiveFacts;
}

/** One entry of the registry. */
export interface CheckDefinition {
  id: string;
  severity: Severity;
  group: CheckGroup;
  title: string;
  /** The usual fix; a detail may give a more specific one. */
  fix: string;
  /** Variables whose configuration refusals this check's findings already explain. */
  covers?: readonly string[];
  run(context: CheckContext): Detail[] | Promise<Detail[]>;
}

/** Declares a check; the identity function, for type inference and readability. */
export function defineCheck(check: CheckDefinition): CheckDefinition {
  return check;
}
