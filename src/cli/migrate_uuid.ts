/**
 * The `citadel migrate uuid` command: converts a legacy SQLite database's integer primary keys
 * to UUID v4, with a plan, progress and verification.
 */
import { createClient } from "@libsql/client/node";
import { parseArgs } from "node:util";
import { dirname } from "../db/paths.ts";
import { describePlan } from "../tools/uuid_migration/describe.ts";
import { matchReferenceValues } from "../tools/uuid_migration/hints.ts";
import { introspect } from "../tools/uuid_migration/introspect.ts";
import {
  type MapSpec,
  type MigrationPlan,
  parseMapSpec,
  PlanError,
  planMigration,
} from "../tools/uuid_migration/plan.ts";
import { migrateToUuid, MigrationError } from "../tools/uuid_migration/run.ts";
import { tableCounts } from "../tools/uuid_migration/snapshot.ts";
import { preflight } from "../tools/uuid_migration/verify.ts";
import { confirm } from "./confirm.ts";
import { lockOutServers } from "../server/database_lock.ts";
import {
  backupPath,
  databaseBytes,
  type DatabaseFile,
  databaseFile,
  openExisting,
  requireSpace,
  writeBackup,
} from "../tools/database_file.ts";
import { loadConfig } from "./load_config.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { progressReporter } from "./progress.ts";

/** Usage of `citadel migrate uuid`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel migrate uuid --database <file> [--tables a,b] ` +
  `[--map table.column=target]... [--dry-run] [--yes] [--backup-dir dir]`;

function parse(args: string[]) {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      database: { type: "string" },
      tables: { type: "string" },
      map: { type: "string", multiple: true },
      "dry-run": { type: "boolean", default: false },
      yes: { type: "boolean", short: "y", default: false },
      "backup-dir": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  return values;
}

function options(values: ReturnType<typeof parse>): { tables?: string[]; maps: MapSpec[] } {
  try {
    return {
      tables: values.tables?.split(",").map((t) => t.trim()).filter(Boolean),
      maps: (values.map ?? []).flatMap((m) => m.split(",")).filter(Boolean).map(parseMapSpec),
    };
  } catch (error) {
    if (error instanceof PlanError) throw new ExitError(EXIT_USAGE, error.message);
    throw error;
  }
}

async function sameDevice(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
  return x.dev === y.dev;
}

/**
 * Room for the backup (one copy) and the migration: the rebuilt tables hold 36-character
 * keys plus a key index and legacy_id_map, and the old pages stay allocated until VACUUM;
 * measured growth is about 4.5x for a database that is all keys, so 4x plus the margin.
 */
async function checkSpace(file: DatabaseFile, backupDir: string): Promise<void> {
  const bytes = await databaseBytes(file.path);
  await Deno.mkdir(backupDir, { recursive: true, mode: 0o700 });
  const dbDir = dirname(file.path);
  if (await sameDevice(dbDir, backupDir)) {
    await requireSpace(dbDir, 5 * bytes, "the backup and the migration");
  } else {
    await requireSpace(backupDir, bytes, "the backup");
    await requireSpace(dbDir, 4 * bytes, "the migration");
  }
}

async function freeMib(client: Parameters<typeof preflight>[0]): Promise<number> {
  const pages = Number((await client.execute("PRAGMA freelist_count")).rows[0][0]);
  const size = Number((await client.execute("PRAGMA page_size")).rows[0][0]);
  return Math.round(pages * size / 1048576);
}

async function dryRun(plan: MigrationPlan, client: Parameters<typeof preflight>[0]) {
  const { problems } = await preflight(client, plan);
  for (const p of problems) console.log(`problem: ${p}`);
  console.log(
    problems.length
      ? "Dry run: the migration would be refused until these problems are fixed"
      : "Dry run: nothing was written",
  );
  return problems.length ? 1 : 0;
}

/** `citadel migrate uuid`: converts integer primary keys of a SQLite database to UUID v4. */
export async function migrateUuid(args: string[]): Promise<number> {
  const values = parse(args);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.database) throw new ExitError(EXIT_USAGE, `--database is required\n${USAGE}`);
  const shape = options(values);
  const config = await loadConfig();
  const key = config.databaseEncryptionKey;
  const file = databaseFile(values.database);
  const client = await openExisting(file, key);
  try {
    // A dry run writes nothing, so only a real run has to keep servers out.
    using _lock = values["dry-run"] ? undefined : await lockOutServers(
      file.path,
      "citadel migrate uuid",
    );
    let plan: MigrationPlan;
    try {
      const schema = await introspect(client);
      plan = planMigration(schema, {
        ...shape,
        values: await matchReferenceValues(client, schema),
      });
    } catch (error) {
      if (error instanceof PlanError) throw new ExitError(EXIT_USAGE, error.message);
      throw error;
    }
    if (plan.convert.length === 0) {
      for (const w of plan.warnings) console.log(`warning: ${w}`);
      console.log("Nothing to convert: no table has an integer primary key (already migrated?)");
      return 0;
    }
    for (const line of describePlan(plan)) console.log(line);
    if (values["dry-run"]) return await dryRun(plan, client);
    const question = `Convert ${plan.convert.length} tables of ${file.path} to UUID keys?`;
    if (!confirm(question, { yes: values.yes, hint: "--dry-run shows the plan" })) {
      console.error("Aborted; nothing was changed");
      return 1;
    }
    const backupDir = values["backup-dir"] ?? dirname(file.path);
    await checkSpace(file, backupDir);
    const out = backupPath(file.path, backupDir);
    const progress = progressReporter({
      terminal: Deno.stderr.isTerminal(),
      write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    });
    const started = performance.now();
    const result = await migrateToUuid(client, plan, {
      onProgress: progress.update,
      afterLock: async () => {
        // A second connection reads the state our write lock has frozen.
        const expectedCounts = await tableCounts(client);
        const reader = createClient({ url: file.url, encryptionKey: key || undefined });
        try {
          await writeBackup(reader, out, key, { expectedCounts });
        } finally {
          reader.close();
        }
        console.error(`backup written and verified: ${out}`);
      },
    }).finally(() => progress.finish());
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    for (const c of result.converted) console.log(`converted ${c.table}: ${c.rows} rows`);
    console.log(`rebuilt ${result.rebuilt.length} tables: ${result.rebuilt.join(", ")}`);
    console.log(`done in ${seconds}s; backup: ${out}; old ids resolve through legacy_id_map`);
    const free = await freeMib(client);
    if (free > 0) console.log(`${free} MiB of old pages are free; VACUUM (offline) reclaims them`);
    return 0;
  } catch (error) {
    if (error instanceof MigrationError) {
      console.error(`citadel migrate uuid: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    client.close();
  }
}
