/**
 * The `citadel migrate` command: applies or lists schema migrations, and dispatches `migrate
 * uuid` and `migrate import-users`.
 */
import { connect } from "../db/connect.ts";
import { migrateUp, migrationStatus } from "../db/migrator.ts";
import { importUsers } from "./import_users.ts";
import { loadConfig } from "./load_config.ts";
import { migrateUuid } from "./migrate_uuid.ts";
import { badArgument, describeArgument, usageError } from "./usage_error.ts";

/** Usage of `citadel migrate`, printed by `--help` and after a usage error. */
export const USAGE =
  `usage: citadel migrate up                apply pending migrations (also plain \`citadel migrate\`)
       citadel migrate status            list migrations: applied, pending or CHANGED (exit 1)
       citadel migrate uuid ...          convert a legacy database's integer ids to UUID v4
       citadel migrate import-users ...  copy the users of a legacy database into citadel's

\`citadel migrate uuid --help\` and \`citadel migrate import-users --help\` show their options.`;

/** `citadel migrate [up|status|uuid|import-users]`: schema migrations and legacy upgrades. */
export async function migrate(args: string[]): Promise<number> {
  const [sub = "up", ...rest] = args;
  if (sub === "uuid") return await migrateUuid(rest);
  if (sub === "import-users") return await importUsers(rest);
  if (!["up", "status"].includes(sub)) {
    const problem = sub.startsWith("-") ? describeArgument(sub) : `unknown subcommand "${sub}"`;
    throw usageError("migrate", problem, USAGE);
  }
  if (rest.length > 0) throw badArgument(`migrate ${sub}`, rest[0], USAGE);
  const config = await loadConfig();
  const { db } = await connect(config);
  try {
    if (sub === "status") {
      const statuses = await migrationStatus(db);
      for (const s of statuses) {
        const state = !s.checksumOk
          ? "CHANGED"
          : s.applied
          ? `applied ${new Date(s.appliedAt!).toISOString()}`
          : "pending";
        console.log(`${s.name}  ${state}`);
      }
      const pending = statuses.filter((s) => !s.applied).length;
      console.log(`${statuses.length - pending} applied, ${pending} pending`);
      return statuses.some((s) => !s.checksumOk) ? 1 : 0;
    }
    const applied = await migrateUp(db);
    console.log(
      applied.length ? `applied: ${applied.join(", ")}` : "nothing to apply: the schema is current",
    );
    return 0;
  } finally {
    await db.destroy();
  }
}
