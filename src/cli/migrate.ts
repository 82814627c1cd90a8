import { connect } from "../db/connect.ts";
import { migrateUp, migrationStatus } from "../db/migrator.ts";
import { importUsers } from "./import_users.ts";
import { EXIT_USAGE, ExitError, loadConfig } from "./load_config.ts";
import { migrateUuid } from "./migrate_uuid.ts";

const USAGE = "usage: citadel migrate [up|status|uuid|import-users]";

/** `citadel migrate [up|status|uuid|import-users]`: schema migrations and legacy upgrades. */
export async function migrate(args: string[]): Promise<number> {
  const [sub = "up", ...rest] = args;
  if (sub === "uuid") return await migrateUuid(rest);
  if (sub === "import-users") return await importUsers(rest);
  if (!["up", "status"].includes(sub) || rest.length > 0) throw new ExitError(EXIT_USAGE, USAGE);
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
