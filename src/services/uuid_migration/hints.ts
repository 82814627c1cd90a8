import { columnKey as key, findTable, hasIntegerAffinity, type SchemaInfo } from "./introspect.ts";
import type { ReferenceEdge } from "./plan.ts";

/**
 * Integer columns named like references (`owner_id`, `userId`) that no foreign key declares
 * and no --map names, whose name matches a converted table: each gets a --map suggestion,
 * because such a column would otherwise keep ids that no longer exist.
 */
export function possibleReferences(
  schema: SchemaInfo,
  edges: ReferenceEdge[],
  mapped: Map<string, string>,
) {
  const known = new Set(edges.map((e) => key(e.table, e.column)));
  const hints: string[] = [];
  for (const table of schema.tables) {
    for (const c of table.columns) {
      const k = key(table.name, c.name);
      if (c.pk > 0 || known.has(k) || mapped.has(k) || !hasIntegerAffinity(c.type)) continue;
      const stem = /^(.+?)_?id$/i.exec(c.name)?.[1];
      if (!stem) continue;
      const target = findTable(schema, stem) ?? findTable(schema, `${stem}s`);
      if (!target || !mapped.has(key(target.name, target.primaryKey[0] ?? ""))) continue;
      hints.push(
        `${table.name}.${c.name} looks like an undeclared reference; if it refers to ` +
          `${target.name}, pass --map ${table.name}.${c.name}=${target.name}`,
      );
    }
  }
  return hints;
}
