/**
 * Applies pending migrations the one way every server start does it (`citadel serve`,
 * Deno Deploy, Workers): each applied step is logged and audited as `migration.applied`
 * by the system actor.
 */
import type { Db } from "../db/schema.ts";
import { migrateUp } from "../db/migrator.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/logger.ts";
import { recordAudit } from "./audit.ts";
import { SYSTEM_ACTOR } from "./audit_events.ts";

/** Applies pending migrations; returns their names in order. */
export async function applyMigrations(
  deps: { db: Db; clock: Clock; logger: Logger },
): Promise<string[]> {
  const applied = await migrateUp(deps.db, { now: () => deps.clock.now() });
  for (const name of applied) {
    deps.logger.info("migration applied", { migration: name });
    await recordAudit(deps.db, {
      ...SYSTEM_ACTOR,
      action: "migration.applied",
      outcome: "success",
      details: { migration: name },
    }, { clock: deps.clock });
  }
  return applied;
}
