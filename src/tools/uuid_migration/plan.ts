/**
 * The plan of `migrate uuid`: which tables get UUID keys and which columns follow them,
 * computed without writing.
 */
import { possibleReferences, type ValueMatches } from "./hints.ts";
import {
  columnKey as key,
  findColumn,
  findTable,
  isIntegerKeyed,
  type SchemaInfo,
  type TableInfo,
} from "./introspect.ts";

/** An undeclared reference given with `--map table.column=target[.column]`. */
export interface MapSpec {
  table: string;
  column: string;
  targetTable: string;
  targetColumn?: string;
}

/** A column that points at a key being converted, and the converted table it resolves through. */
export interface ReferenceEdge {
  table: string;
  column: string;
  parentTable: string;
  parentColumn: string;
  kind: "declared" | "mapped";
  onDelete?: string;
  onUpdate?: string;
}

/** One table the migration rebuilds. */
export interface TablePlan {
  table: TableInfo;
  /** The primary key column that gets new UUIDs, when this table is converted. */
  convertKey?: string;
  /** Columns rewritten to the UUIDs of their referenced rows, with the table that owns them. */
  references: { column: string; root: string }[];
}

/** Everything a run will do, computed without writing anything. */
export interface MigrationPlan {
  schema: SchemaInfo;
  /** Tables whose integer key is replaced by UUIDs. */
  convert: TableInfo[];
  /** Every table that is rebuilt: converted ones and those holding references. */
  rebuild: TablePlan[];
  edges: ReferenceEdge[];
  warnings: string[];
  /** Rows the run processes: ids mapped plus rows copied. */
  totalRows: number;
}

/** Options that shape a plan. */
export interface PlanOptions {
  tables?: string[];
  maps?: MapSpec[];
  /** What the values of reference-like columns showed; it makes the --map hints better. */
  values?: ValueMatches;
}

/** The options name something that does not fit the database. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** Parses `table.column=target` or `table.column=target.column`. */
export function parseMapSpec(text: string): MapSpec {
  const match = /^([^.=\s]+)\.([^.=\s]+)=([^.=\s]+)(?:\.([^.=\s]+))?$/.exec(text.trim());
  if (!match) {
    throw new PlanError(`Invalid --map "${text}": expected table.column=target or target.column`);
  }
  return { table: match[1], column: match[2], targetTable: match[3], targetColumn: match[4] };
}

function requireTable(schema: SchemaInfo, name: string, what: string): TableInfo {
  const table = findTable(schema, name);
  if (!table) throw new PlanError(`${what} names table "${name}", which does not exist`);
  return table;
}

function candidatesOf(schema: SchemaInfo, options: PlanOptions, warnings: string[]) {
  if (!options.tables) return schema.tables.filter(isIntegerKeyed);
  const named = options.tables.map((n) => requireTable(schema, n, "--tables"));
  for (const t of named) {
    if (t.primaryKey.length !== 1) {
      throw new PlanError(`Table "${t.name}" has no single-column primary key to convert`);
    }
    if (!isIntegerKeyed(t)) {
      warnings.push(`${t.name}: primary key is not an integer (already converted?); skipped`);
    }
  }
  return named.filter(isIntegerKeyed);
}

function edgesOf(schema: SchemaInfo, maps: MapSpec[], warnings: string[]): ReferenceEdge[] {
  const edges: ReferenceEdge[] = [];
  for (const table of schema.tables) {
    for (const fk of table.foreignKeys) {
      const parent = findTable(schema, fk.table);
      if (!parent) {
        warnings.push(`${table.name}: foreign key to missing table "${fk.table}" ignored`);
        continue;
      }
      fk.from.forEach((from, i) => {
        const to = fk.to[i] ?? parent.primaryKey[i];
        if (!to) return;
        edges.push({
          table: table.name,
          column: findColumn(table, from)?.name ?? from,
          parentTable: parent.name,
          parentColumn: findColumn(parent, to)?.name ?? to,
          kind: "declared",
          onDelete: fk.onDelete,
          onUpdate: fk.onUpdate,
        });
      });
    }
  }
  for (const map of maps) {
    const child = requireTable(schema, map.table, "--map");
    const column = findColumn(child, map.column);
    if (!column) {
      throw new PlanError(`--map names column "${map.table}.${map.column}", which does not exist`);
    }
    const parent = requireTable(schema, map.targetTable, "--map");
    const target = map.targetColumn ?? parent.primaryKey[0];
    if (
      parent.primaryKey.length !== 1 || target.toLowerCase() !== parent.primaryKey[0].toLowerCase()
    ) {
      throw new PlanError(
        `--map target "${map.targetTable}.${target}" is not the table's single-column primary key`,
      );
    }
    edges.push({
      table: child.name,
      column: column.name,
      parentTable: parent.name,
      parentColumn: parent.primaryKey[0],
      kind: "mapped",
    });
  }
  return edges;
}

/** Follows references from converted keys until every column holding such ids is found. */
function closure(roots: TableInfo[], edges: ReferenceEdge[]): Map<string, string> {
  const mapped = new Map(roots.map((t) => [key(t.name, t.primaryKey[0]), t.name]));
  for (let changed = true; changed;) {
    changed = false;
    for (const e of edges) {
      const root = mapped.get(key(e.parentTable, e.parentColumn));
      if (root === undefined) continue;
      const existing = mapped.get(key(e.table, e.column));
      if (existing === undefined) {
        mapped.set(key(e.table, e.column), root);
        changed = true;
      } else if (existing !== root) {
        throw new PlanError(`Column ${e.table}.${e.column} refers to both ${existing} and ${root}`);
      }
    }
  }
  return mapped;
}

/**
 * Decides which tables get UUID keys and which columns follow them: declared foreign keys
 * (composite and self references included, followed transitively) and `--map` references.
 */
export function planMigration(schema: SchemaInfo, options: PlanOptions = {}): MigrationPlan {
  const warnings: string[] = [];
  if (findTable(schema, "citadel_migrations") && !options.tables) {
    // Its own integer keys (the audit log's seq) are sequence numbers, not identifiers.
    throw new PlanError(
      "This is a citadel database: its ids are UUIDs already; name legacy tables with --tables",
    );
  }
  const candidates = candidatesOf(schema, options, warnings);
  const edges = edgesOf(schema, options.maps ?? [], warnings);
  const referencing = new Set(edges.map((e) => key(e.table, e.column)));
  // A key that is itself a reference (1:1 tables) takes the UUID of the row it points to.
  const convert = candidates.filter((t) => !referencing.has(key(t.name, t.primaryKey[0])));
  const mapped = closure(convert, edges);
  for (const t of candidates) {
    if (!mapped.has(key(t.name, t.primaryKey[0]))) {
      warnings.push(`${t.name}: its key refers to a table that is not converted; left unchanged`);
    }
  }
  for (const e of edges) {
    const child = mapped.get(key(e.table, e.column));
    const parent = mapped.get(key(e.parentTable, e.parentColumn));
    if (child !== parent) {
      throw new PlanError(
        `${e.table}.${e.column} references ${e.parentTable}.${e.parentColumn}, but only one ` +
          "of them would be converted; include both tables or neither",
      );
    }
  }
  const roots = new Set(convert.map((t) => t.name));
  const rebuild: TablePlan[] = [];
  for (const table of schema.tables) {
    const references = table.columns
      .filter((c) => mapped.has(key(table.name, c.name)) && !(roots.has(table.name) && c.pk > 0))
      .map((c) => ({ column: c.name, root: mapped.get(key(table.name, c.name))! }));
    if (!roots.has(table.name) && references.length === 0) continue;
    for (const r of references) {
      const column = findColumn(table, r.column)!;
      if (column.hidden >= 2) {
        throw new PlanError(
          `${table.name}.${column.name} is a generated column and cannot be converted`,
        );
      }
      if (column.defaultValue !== null && column.defaultValue.toUpperCase() !== "NULL") {
        warnings.push(
          `${table.name}.${column.name} has DEFAULT ${column.defaultValue}, which will not match any UUID`,
        );
      }
    }
    rebuild.push({
      table,
      convertKey: roots.has(table.name) ? table.primaryKey[0] : undefined,
      references,
    });
  }
  warnings.push(...possibleReferences(schema, edges, mapped, options.values));
  const relevant = edges.filter((e) => mapped.has(key(e.table, e.column)));
  const totalRows = convert.reduce((n, t) => n + t.rowCount, 0) +
    rebuild.reduce((n, p) => n + p.table.rowCount, 0);
  return { schema, convert, rebuild, edges: relevant, warnings, totalRows };
}
