/**
 * The `migrate uuid --dry-run` description of a plan.
 */
import type { MigrationPlan } from "./plan.ts";

/** The plan as the lines `--dry-run` prints: tables, row counts, reference edges, warnings. */
export function describePlan(plan: MigrationPlan): string[] {
  const lines: string[] = [];
  lines.push(`Tables converted to UUID v4 keys (${plan.convert.length}):`);
  for (const t of plan.convert) {
    lines.push(`  ${t.name}.${t.primaryKey[0]}  ${t.rowCount} rows`);
  }
  const followers = plan.rebuild.filter((p) => !p.convertKey);
  lines.push(`Tables rebuilt for their references (${followers.length}):`);
  for (const p of followers) {
    lines.push(
      `  ${p.table.name}  ${p.table.rowCount} rows  (${
        p.references.map((r) => r.column).join(", ")
      })`,
    );
  }
  lines.push(`Reference edges (${plan.edges.length}):`);
  for (const e of plan.edges) {
    const actions = [
      e.onDelete && e.onDelete !== "NO ACTION" ? `ON DELETE ${e.onDelete}` : "",
      e.onUpdate && e.onUpdate !== "NO ACTION" ? `ON UPDATE ${e.onUpdate}` : "",
    ].filter(Boolean).join(" ");
    lines.push(
      `  ${e.table}.${e.column} -> ${e.parentTable}.${e.parentColumn}  ${e.kind}${
        actions ? `  ${actions}` : ""
      }`,
    );
  }
  const objects = plan.schema.objects.filter((o) => o.sql !== null);
  const count = (type: string) => objects.filter((o) => o.type === type).length;
  lines.push(
    `Recreated afterwards: ${count("index")} indexes (of rebuilt tables where applicable), ` +
      `${count("trigger")} triggers, ${count("view")} views`,
  );
  const ids = plan.convert.reduce((n, t) => n + t.rowCount, 0);
  lines.push(
    `Rows to process: ${plan.totalRows} (${ids} ids to map + ${plan.totalRows - ids} rows to copy)`,
  );
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  return lines;
}
