/**
 * Kysely over a Cloudflare D1 binding, with optimistic transactions that are run again when D1
 * refuses their batch at commit.
 */
import { Kysely, type LogConfig, type TransactionBuilder } from "kysely";
import { D1CommitConflict, type D1DatabaseLike, d1Dialect } from "./d1_dialect.ts";
import type { Database } from "./schema.ts";

/** Options of {@linkcode d1Database}. */
export interface D1DatabaseOptions {
  /** Runs of one transaction, the first included, before a conflict is given up. */
  maxAttempts?: number;
  /** Upper bound of the random pause before a retry, times the attempt number. */
  backoffMs?: number;
  /** Called with each statement's duration in milliseconds (see connect.ts). */
  onQuery?: (ms: number) => void;
}

/**
 * Kysely over a D1 binding whose transactions are optimistic: a transaction whose batch
 * is refused at commit by a constraint or trigger ({@linkcode D1CommitConflict}, e.g.
 * two isolates appending to the audit chain, or rotating the same refresh token) is run
 * again from the start against fresh reads, so it decides again on what is now
 * committed, as it would have after waiting for SQLite's write lock. Transaction
 * callbacks must therefore be safe to re-run: no effects outside the database other
 * than idempotent ones. After `maxAttempts` the original D1 error is thrown.
 */
export function d1Database<DB = Database>(
  binding: D1DatabaseLike,
  options: D1DatabaseOptions = {},
): Kysely<DB> {
  const { onQuery } = options;
  return new OptimisticKysely<DB>(
    binding,
    options.maxAttempts ?? 6,
    options.backoffMs ?? 10,
    onQuery && ((event) => onQuery(event.queryDurationMillis)),
  );
}

class OptimisticKysely<DB> extends Kysely<DB> {
  constructor(
    binding: D1DatabaseLike,
    readonly attempts: number,
    readonly backoffMs: number,
    log?: LogConfig,
  ) {
    super({ dialect: d1Dialect(binding), log });
  }

  override transaction(): TransactionBuilder<DB> {
    const builder = super.transaction();
    const once = builder.execute.bind(builder);
    const execute: typeof once = async (callback) => {
      for (let attempt = 1;; attempt++) {
        try {
          return await once(callback);
        } catch (error) {
          if (!(error instanceof D1CommitConflict)) throw error;
          if (attempt >= this.attempts) throw error.cause;
          const pause = Math.random() * this.backoffMs * attempt;
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      }
    };
    return Object.assign(builder, { execute });
  }
}
