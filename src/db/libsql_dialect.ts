/**
 * The Kysely dialect over `@libsql/client`: one shared connection for a local file
 * (transactions one at a time) or the remote client.
 */
import type { Client, InStatement, InValue, Transaction } from "@libsql/client";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";

/** How statements reach the database: one shared local connection or a remote client. */
export interface LibsqlDialectOptions {
  /**
   * A local (file or memory) client holds one connection: transactions are taken with
   * BEGIN IMMEDIATE on it while a mutex keeps other queries out. A remote client gets
   * a `client.transaction()` per Kysely transaction instead.
   */
  local: boolean;
}

/** A Kysely dialect over any `@libsql/client` (node build for files, web build for remote). */
export function libsqlDialect(client: Client, options: LibsqlDialectOptions): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => options.local ? new LocalDriver(client) : new RemoteDriver(client),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

type Executor = Pick<Client | Transaction, "execute">;

class LibsqlConnection implements DatabaseConnection {
  transaction?: Transaction;
  constructor(private readonly client: Executor) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const statement: InStatement = { sql: query.sql, args: query.parameters as InValue[] };
    const result = await (this.transaction ?? this.client).execute(statement);
    return {
      rows: result.rows.map((row) => ({ ...row })) as R[],
      numAffectedRows: BigInt(result.rowsAffected),
      insertId: result.lastInsertRowid,
    };
  }

  // deno-lint-ignore require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("Streaming is not supported by the libSQL driver");
  }
}

class Mutex {
  #tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => release = resolve);
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return ready;
  }
}

abstract class BaseDriver implements Driver {
  constructor(protected readonly client: Client) {}
  init(): Promise<void> {
    return Promise.resolve();
  }
  abstract acquireConnection(): Promise<DatabaseConnection>;
  abstract beginTransaction(connection: DatabaseConnection): Promise<void>;
  abstract commitTransaction(connection: DatabaseConnection): Promise<void>;
  abstract rollbackTransaction(connection: DatabaseConnection): Promise<void>;
  releaseConnection(_connection: DatabaseConnection): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

class LocalDriver extends BaseDriver {
  readonly #mutex = new Mutex();
  readonly #connection = new LibsqlConnection(this.client);
  #release?: () => void;

  override async acquireConnection() {
    this.#release = await this.#mutex.lock();
    return this.#connection;
  }
  override releaseConnection() {
    const release = this.#release;
    this.#release = undefined;
    release?.();
    return Promise.resolve();
  }
  async beginTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw("BEGIN IMMEDIATE"));
  }
  async commitTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw("COMMIT"));
  }
  async rollbackTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw("ROLLBACK"));
  }
}

class RemoteDriver extends BaseDriver {
  override acquireConnection() {
    return Promise.resolve(new LibsqlConnection(this.client));
  }
  async beginTransaction(connection: DatabaseConnection) {
    (connection as LibsqlConnection).transaction = await this.client.transaction("write");
  }
  async commitTransaction(connection: DatabaseConnection) {
    const c = connection as LibsqlConnection;
    await c.transaction?.commit();
    c.transaction = undefined;
  }
  async rollbackTransaction(connection: DatabaseConnection) {
    const c = connection as LibsqlConnection;
    await c.transaction?.rollback();
    c.transaction = undefined;
  }
}
