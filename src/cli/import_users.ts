/**
 * The `citadel migrate import-users` command: copies the users of a legacy database into
 * citadel's.
 */
import type { Client } from "@libsql/client";
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import { connect, databaseFilePath } from "../db/connect.ts";
import { migrateUp } from "../db/migrator.ts";
import { pathExists } from "../platform/path_exists.ts";
import {
  type ImportResult,
  importUsers as runImport,
} from "../tools/uuid_migration/import_users.ts";
import { readLegacyUsers } from "../tools/uuid_migration/legacy_users.ts";
import { databaseFile, openExisting } from "../tools/database_file.ts";
import { loadConfig } from "./load_config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";

/** Usage of `citadel migrate import-users`, printed by `--help` and after a usage error. */
export const USAGE =
  "usage: citadel migrate import-users --from <file> --table T --email-column C " +
  "--password-column P [--id-column I] [--name-column N] [--dry-run]";

const USERS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users'";

/** citadel's database as the import uses it. */
interface Target {
  client: Client;
  close(): Promise<void>;
}

/**
 * citadel's database: migrated (created if need be) for an import. A dry run writes nothing,
 * so it only opens a file that exists (no journal mode set, no directory or file created)
 * and needs the users table to be there already.
 */
async function openTarget(config: Config, dryRun: boolean): Promise<Target> {
  const path = databaseFilePath(config.databaseUrl);
  if (!dryRun) {
    const { db, client } = await connect(config);
    try {
      const applied = await migrateUp(db);
      if (applied.length > 0) console.log(`applied migrations: ${applied.join(", ")}`);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return { client, close: () => db.destroy() };
  }
  if (path && !await pathExists(path)) {
    throw new ExitError(
      1,
      `The citadel database ${path} (DATABASE_URL) does not exist; a dry run creates nothing: ` +
        "check DATABASE_URL and the working directory, or run citadel migrate up first",
    );
  }
  const target: Target = path
    ? await openExisting(
      databaseFile(config.databaseUrl, "DATABASE_URL"),
      config.databaseEncryptionKey,
    )
      .then((client) => ({ client, close: () => Promise.resolve(client.close()) }))
    : await connect(config).then(({ db, client }) => ({ client, close: () => db.destroy() }));
  if ((await target.client.execute(USERS_TABLE)).rows.length === 0) {
    await target.close();
    throw new ExitError(
      1,
      `The citadel database ${path ?? "at DATABASE_URL"} has no users table yet: ` +
        "run citadel migrate up",
    );
  }
  return target;
}

function parse(args: string[]) {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      from: { type: "string" },
      table: { type: "string" },
      "email-column": { type: "string" },
      "password-column": { type: "string" },
      "id-column": { type: "string" },
      "name-column": { type: "string" },
      "dry-run": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  return values;
}

/** The legacy database, opened without a key first and with DATABASE_ENCRYPTION_KEY after. */
async function openSource(input: string, key: string | undefined): Promise<Client> {
  const file = databaseFile(input, "--from");
  try {
    return await openExisting(file);
  } catch (error) {
    if (!key) throw error;
    return await openExisting(file, key);
  }
}

function printSummary(result: ImportResult): void {
  const prefix = result.dryRun ? "dry run: would import" : "imported";
  for (const r of result.rejected) {
    console.log(`rejected: legacy id ${r.legacyId ?? "-"} <${r.email ?? ""}>: ${r.reason}`);
  }
  console.log(
    `${prefix} ${result.imported} of ${result.read} users ` +
      `(bcrypt ${result.hashes.bcrypt}, argon2 ${result.hashes.argon2}); ` +
      `${result.rejected.length} rejected`,
  );
  if (!result.dryRun && result.imported > 0) {
    console.log("Hashes were kept as they are; each is upgraded to argon2id at its next login.");
  }
}

/** `citadel migrate import-users`: copies users of a legacy database into citadel's. */
export async function importUsers(args: string[]): Promise<number> {
  const values = parse(args);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const required = ["from", "table", "email-column", "password-column"] as const;
  const absent = required.filter((k) => !values[k]);
  if (absent.length > 0) {
    throw new ExitError(EXIT_USAGE, `missing ${absent.map((k) => `--${k}`).join(", ")}\n${USAGE}`);
  }
  const config = await loadConfig();
  const source = await openSource(values.from!, config.databaseEncryptionKey);
  try {
    const { rows, idsFrom } = await readLegacyUsers(source, {
      table: values.table!,
      emailColumn: values["email-column"]!,
      passwordColumn: values["password-column"]!,
      idColumn: values["id-column"],
      nameColumn: values["name-column"],
    }).catch((error) => {
      throw new ExitError(EXIT_USAGE, error instanceof Error ? error.message : String(error));
    });
    const target = await openTarget(config, values["dry-run"]);
    try {
      if (idsFrom === "legacy_id_map") {
        console.log(
          `legacy ids: ${values.table} was converted by migrate uuid; its original integer ids ` +
            `are read from legacy_id_map of ${values.from}`,
        );
      }
      const result = await runImport(target.client, rows, {
        table: values.table!,
        now: Date.now(),
        dryRun: values["dry-run"],
      });
      printSummary(result);
      return 0;
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
}
