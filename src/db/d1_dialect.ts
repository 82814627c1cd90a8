/**
 * The Kysely dialect for Cloudflare D1: statements through the binding, a transaction's writes
 * queued and sent as one batch at commit.
 */
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";

/** The part of Cloudflare's `D1Database` binding this dialect uses. */
export interface D1DatabaseLike {
  prepare(query: string): D1StatementLike;
  batch(statements: D1StatementLike[]): Promise<D1ResultLike[]>;
}

/** The part of Cloudflare's `D1PreparedStatement` this dialect uses. */
export interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike;
  all(): Promise<D1ResultLike>;
}

/** The part of Cloudflare's `D1Result` this dialect reads. */
export interface D1ResultLike {
  results?: unknown[];
  meta?: { changes?: number; last_row_id?: number };
}

/**
 * A transaction's batch was refused at commit by a constraint or trigger (typically a
 * concurrent writer changed what the transaction had read); nothing was written.
 * {@linkcode import("./d1_database.ts").d1Database} retries the transaction on it.
 */
export class D1CommitConflict extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "D1CommitConflict";
  }
}

/** Raised for a statement a D1 transaction cannot run faithfully; see {@linkcode d1Dialect}. */
export class D1TransactionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "D1TransactionError";
  }
}

/**
 * A Kysely dialect over a Cloudflare D1 binding.
 *
 * D1 has no interactive transactions (BEGIN is refused; each statement is atomic, and
 * `batch()` runs a list of statements as one all-or-nothing transaction). A Kysely
 * transaction therefore runs like this: reads execute at once against committed data;
 * writes are queued and sent as one `batch()` at commit, so they all apply or none do
 * (a constraint or trigger failure anywhere rolls back every write), and a rollback
 * simply drops the queue. What is weaker than SQLite's BEGIN IMMEDIATE: reads take no
 * lock, so a concurrent writer can change what was read before the batch commits
 * (unique keys and triggers still reject conflicting writes, failing the whole batch).
 * Two things cannot be emulated and throw {@linkcode D1TransactionError} instead of
 * answering wrongly: a read of a table the transaction already wrote (it would not see
 * its own writes) and a write with RETURNING. Queued writes report 0 affected rows.
 * Transactions of one isolate run one at a time; a batch refused at commit by a
 * constraint throws {@linkcode D1CommitConflict}.
 */
export function d1Dialect(database: D1DatabaseLike): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new D1Driver(database),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

const CONFLICT = /SQLITE_CONSTRAINT|SQLITE_BUSY/;

/** Hands out one turn at a time, in request order. */
function turnstile(): () => Promise<() => void> {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const previous = last;
    let done!: () => void;
    last = new Promise<void>((resolve) => done = resolve);
    return previous.then(() => done);
  };
}

const READ = /^\s*(select|values|explain)\b/i;
const WITH = /^\s*with\b/i;
const WRITE_VERB = /\b(insert|update|delete|replace)\b/i;
const RETURNING = /\breturning\b/i;
const WRITTEN_TABLE =
  /^\s*(?:with\b[\s\S]*?\)\s*)?(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+("(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w.]+)/i;

function isRead(sqlText: string): boolean {
  return READ.test(sqlText) || (WITH.test(sqlText) && !WRITE_VERB.test(sqlText));
}

function unquote(name: string): string {
  const bare = /^["`[]/.test(name) ? name.slice(1, -1).replaceAll('""', '"') : name;
  return bare.split(".").pop()!.toLowerCase();
}

/** True when the statement mentions the table as an identifier (quoted or not). */
function mentions(sqlText: string, table: string): boolean {
  const escaped = table.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w"])"?${escaped}"?($|[^\\w"])`, "i").test(sqlText);
}

function bindable(value: unknown): unknown {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Uint8Array) return value.slice().buffer;
  return value ?? null;
}

class D1Connection implements DatabaseConnection {
  #queue?: { statements: D1StatementLike[]; tables: Set<string>; release: () => void };
  constructor(private readonly database: D1DatabaseLike) {}

  #prepare(query: CompiledQuery): D1StatementLike {
    const statement = this.database.prepare(query.sql);
    return query.parameters.length > 0
      ? statement.bind(...query.parameters.map(bindable))
      : statement;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const queue = this.#queue;
    if (queue && !isRead(query.sql)) {
      if (RETURNING.test(query.sql)) {
        throw new D1TransactionError(
          "A write with RETURNING cannot run inside a D1 transaction; run it outside one",
        );
      }
      const table = WRITTEN_TABLE.exec(query.sql)?.[1];
      if (table) queue.tables.add(unquote(table));
      queue.statements.push(this.#prepare(query));
      return { rows: [], numAffectedRows: 0n };
    }
    if (queue) {
      for (const table of queue.tables) {
        if (mentions(query.sql, table)) {
          throw new D1TransactionError(
            `A D1 transaction cannot read table "${table}" after writing it (the write is ` +
              "applied only at commit); read it before the first write",
          );
        }
      }
    }
    const result = await this.#prepare(query).all();
    const changes = result.meta?.changes ?? 0;
    return {
      rows: (result.results ?? []) as R[],
      numAffectedRows: isRead(query.sql) ? undefined : BigInt(changes),
      insertId: result.meta?.last_row_id === undefined
        ? undefined
        : BigInt(result.meta.last_row_id),
    };
  }

  begin(release: () => void): void {
    this.#queue = { statements: [], tables: new Set(), release };
  }

  async commit(): Promise<void> {
    const queue = this.#queue;
    this.#queue = undefined;
    try {
      if (queue && queue.statements.length > 0) await this.database.batch(queue.statements);
    } catch (error) {
      throw CONFLICT.test(String((error as Error)?.message)) ? new D1CommitConflict(error) : error;
    } finally {
      queue?.release();
    }
  }

  rollback(): void {
    this.#queue?.release();
    this.#queue = undefined;
  }

  // deno-lint-ignore require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("Streaming is not supported by the D1 driver");
  }
}

class D1Driver implements Driver {
  // Transactions read without locks; running them one at a time in this isolate leaves
  // conflicts only between isolates.
  readonly #turn = turnstile();
  constructor(private readonly database: D1DatabaseLike) {}
  init(): Promise<void> {
    return Promise.resolve();
  }
  acquireConnection(): Promise<DatabaseConnection> {
    // A connection holds only a transaction's write queue, so each caller gets its own.
    return Promise.resolve(new D1Connection(this.database));
  }
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as D1Connection).begin(await this.#turn());
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as D1Connection).commit();
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as D1Connection).rollback();
    return Promise.resolve();
  }
  releaseConnection(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}
