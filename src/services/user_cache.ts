/**
 * A short-lived per-process cache of users by id, for the read-only hot path (`GET
 * /api/v1/me`).
 */
import type { Db, User } from "../db/schema.ts";
import { findUserById } from "../db/users_repo.ts";
import type { Clock } from "../platform/clock.ts";

/** Options of {@linkcode createUserCache}. */
export interface UserCacheOptions {
  db: Db;
  clock: Clock;
  /** How long a read is reused: the bound on seeing another process's change. */
  ttlMs?: number;
  /** Users remembered at most; the oldest read goes first. */
  limit?: number;
}

/** Users by id for the read-only hot path (`GET /api/v1/me`). */
export interface UserCache {
  /** The user as read from the database at most `ttlMs` ago (undefined: no such user). */
  get(id: string): Promise<User | undefined>;
  /** Drops a user this process just changed, so its next read sees the change. */
  forget(id: string): void;
}

interface Entry {
  user: Promise<User | undefined>;
  readAt: number;
}

/**
 * A per-process cache of user rows with a short time to live (default 1 s), so a busy
 * `GET /me` does not query the database on every request. Changes made by this
 * process call `forget` and show at once; changes made by another process (another
 * worker, a CLI command) show within `ttlMs`. Nothing that decides access depends on
 * it: disabling, deleting or demoting a user revokes their sessions, which the
 * revocation list enforces, and writes read the row fresh. Concurrent misses share one
 * query.
 */
export function createUserCache(options: UserCacheOptions): UserCache {
  const { db, clock } = options;
  const ttlMs = options.ttlMs ?? 1000;
  const limit = options.limit ?? 4096;
  const entries = new Map<string, Entry>();

  return {
    get(id) {
      const now = clock.now();
      const entry = entries.get(id);
      if (entry !== undefined && now - entry.readAt < ttlMs) return entry.user;
      entries.delete(id);
      if (entries.size >= limit) entries.delete(entries.keys().next().value!);
      const user = findUserById(db, id);
      const fresh = { user, readAt: now };
      entries.set(id, fresh);
      // A failed read is not remembered.
      user.catch(() => entries.get(id) === fresh && entries.delete(id));
      return user;
    },
    forget(id) {
      entries.delete(id);
    },
  };
}
