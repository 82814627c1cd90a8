/**
 * Copying legacy users into citadel's `users` table for `migrate import-users`, with every
 * skipped row and its reason.
 */
import type { Client } from "@libsql/client";
import { z } from "zod";
import { normalizeEmail } from "../../db/users_repo.ts";
import { ensureIdMapTable } from "./id_map.ts";
import { LEGACY_ID_MAP } from "./introspect.ts";
import type { LegacyUser } from "./legacy_users.ts";
import { quoteString } from "./sql_tokens.ts";

/** A row that was not imported, and why. */
export interface Rejection {
  legacyId: string | null;
  email: string | null;
  reason: string;
}

/** What an import did (or, in a dry run, would do). */
export interface ImportResult {
  read: number;
  imported: number;
  hashes: { bcrypt: number; argon2: number };
  rejected: Rejection[];
  dryRun: boolean;
}

type HashKind = "bcrypt" | "argon2";

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const ARGON2 =
  /^\$argon2(id|i|d)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+(,[a-z]+=[^$]*)*\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;
const EMAIL = z.email();

/** The kind of a stored password hash kept as it is, or undefined for anything else. */
export function hashKind(hash: string): HashKind | undefined {
  if (BCRYPT.test(hash)) return "bcrypt";
  if (ARGON2.test(hash)) return "argon2";
  return undefined;
}

interface Accepted {
  id: string;
  legacyId: string | null;
  email: string;
  hash: string;
  name: string | null;
}

async function existing(target: Client, sql: string, values: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < values.length; i += 10_000) {
    const r = await target.execute({ sql, args: [JSON.stringify(values.slice(i, i + 10_000))] });
    for (const row of r.rows) found.add(String(Object.values(row)[0]));
  }
  return found;
}

async function validate(target: Client, rows: LegacyUser[], table: string) {
  const rejected: Rejection[] = [];
  const accepted: Accepted[] = [];
  const firstByEmail = new Map<string, LegacyUser>();
  for (const row of rows) {
    const raw = typeof row.email === "string" ? row.email : null;
    const email = raw === null ? null : normalizeEmail(raw);
    const reject = (reason: string) =>
      rejected.push({ legacyId: row.legacyId, email: raw, reason });
    if (!email) {
      reject("missing email");
    } else if (email.length > 254 || !EMAIL.safeParse(email).success) {
      reject("invalid email");
    } else if (typeof row.passwordHash !== "string" || !hashKind(row.passwordHash)) {
      reject("unsupported password hash (only bcrypt $2a$/$2b$/$2y$ and argon2 are kept)");
    } else if (firstByEmail.has(email)) {
      const kept = firstByEmail.get(email)!.legacyId;
      reject(
        kept === null
          ? "duplicate email (an earlier row with this email is kept)"
          : `duplicate email (legacy id ${kept}, the lowest id with this email, is kept)`,
      );
    } else {
      firstByEmail.set(email, row);
      accepted.push({
        id: crypto.randomUUID(),
        legacyId: row.legacyId,
        email,
        hash: row.passwordHash,
        name: row.name === null || row.name === undefined ? null : String(row.name),
      });
    }
  }
  const taken = await existing(
    target,
    "SELECT email FROM users WHERE email IN (SELECT value FROM json_each(?))",
    accepted.map((a) => a.email),
  );
  const mapExists = (await target.execute(
    `SELECT 1 FROM sqlite_master WHERE name = '${LEGACY_ID_MAP}'`,
  )).rows.length > 0;
  const imported = mapExists
    ? await existing(
      target,
      `SELECT CAST(legacy_id AS TEXT) FROM ${LEGACY_ID_MAP} WHERE table_name = ${
        quoteString(table)
      } AND legacy_id IN (SELECT value FROM json_each(?))`,
      accepted.flatMap((a) => a.legacyId === null ? [] : [a.legacyId]),
    )
    : new Set<string>();
  const keep = accepted.filter((a) => {
    const reason = a.legacyId !== null && imported.has(a.legacyId)
      ? "legacy id already imported"
      : taken.has(a.email)
      ? "email already exists in citadel"
      : undefined;
    if (reason) rejected.push({ legacyId: a.legacyId, email: a.email, reason });
    return reason === undefined;
  });
  return { keep, rejected };
}

/**
 * Imports legacy users into citadel's `users` table in one transaction: new UUID v4 ids,
 * normalised emails, role user, status active, hashes kept as they are (upgraded at the
 * next login), legacy ids recorded in `legacy_id_map` under the source table's name.
 * Invalid, duplicate and already present rows are returned as rejections, never dropped
 * silently. With `dryRun` nothing is written.
 */
export async function importUsers(
  target: Client,
  rows: LegacyUser[],
  options: { table: string; now: number; dryRun: boolean },
): Promise<ImportResult> {
  const { keep, rejected } = await validate(target, rows, options.table);
  const hashes = { bcrypt: 0, argon2: 0 };
  for (const a of keep) hashes[hashKind(a.hash)!]++;
  if (!options.dryRun && keep.length > 0) {
    await target.execute("BEGIN IMMEDIATE");
    try {
      await ensureIdMapTable(target);
      for (let i = 0; i < keep.length; i += 5_000) {
        const batch = JSON.stringify(keep.slice(i, i + 5_000));
        await target.execute({
          sql:
            `INSERT INTO users (id, email, password_hash, name, role, status, created_at, updated_at)
            SELECT value ->> 'id', value ->> 'email', value ->> 'hash', value ->> 'name',
              'user', 'active', ?, ? FROM json_each(?)`,
          args: [options.now, options.now, batch],
        });
        await target.execute({
          sql: `INSERT INTO ${LEGACY_ID_MAP} (table_name, legacy_id, uuid)
            SELECT ?, value ->> 'legacyId', value ->> 'id' FROM json_each(?)
            WHERE value ->> 'legacyId' IS NOT NULL`,
          args: [options.table, batch],
        });
      }
      await target.execute("COMMIT");
    } catch (error) {
      await target.execute("ROLLBACK").catch(() => {});
      throw error;
    }
  }
  return { read: rows.length, imported: keep.length, hashes, rejected, dryRun: options.dryRun };
}
