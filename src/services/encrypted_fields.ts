/**
 * Every database field that holds a field-encryption envelope, and the operations over all
 * of them: counting fields by key id (`check`, the production start-up refusal) and moving
 * every field to the current key (`citadel keys reencrypt`). A feature that stores a new
 * secret adds its column to {@linkcode ENCRYPTED_FIELDS}.
 */
import { sql } from "kysely";
import type { Db } from "../db/schema.ts";
import type { FieldCipher } from "../lib/field_crypto.ts";

/** One encrypted column: the envelope binds table, column and the row's id column value. */
export interface EncryptedField {
  table: string;
  column: string;
  idColumn: string;
}

/** Every encrypted column of the schema. */
export const ENCRYPTED_FIELDS: readonly EncryptedField[] = [
  { table: "signing_keys", column: "private_key", idColumn: "kid" },
  { table: "mfa_totp", column: "secret", idColumn: "user_id" },
];

const fieldName = (f: EncryptedField) => `${f.table}.${f.column}`;

/** The key id an envelope (`v1.<kid>.<nonce>.<ciphertext>`) names. */
export function envelopeKeyId(envelope: string): string {
  return envelope.split(".")[1] ?? "";
}

/**
 * How many envelopes each key id has, over every encrypted field; with `tables`, only the
 * fields of the tables listed (a database not yet migrated lacks some).
 */
export async function countByKeyId(
  db: Db,
  tables?: ReadonlySet<string>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const field of ENCRYPTED_FIELDS) {
    if (tables && !tables.has(field.table)) continue;
    const rows = await sql<{ value: string }>`
      SELECT ${sql.ref(field.column)} AS value FROM ${sql.table(field.table)}
      WHERE ${sql.ref(field.column)} IS NOT NULL`.execute(db);
    for (const { value } of rows.rows) {
      const id = envelopeKeyId(value);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * How many encrypted fields are left without their key: all of them when `key` (the
 * ENCRYPTION_KEY in use) is unset, else none. One rule, two callers: `serve` refuses to
 * start in production when it is not 0 (cli/bootstrap.ts), and `citadel check` reports it.
 */
export async function fieldsWithoutKey(
  db: Db,
  key: string | undefined,
  tables?: ReadonlySet<string>,
): Promise<number> {
  if (key) return 0;
  let total = 0;
  for (const n of (await countByKeyId(db, tables)).values()) total += n;
  return total;
}

/** Progress of {@linkcode reencryptAll}: fields done of the fields due. */
export type ReencryptProgress = (done: number, total: number) => void;

/**
 * Re-encrypts every field not under the cipher's current key, one row at a time: each
 * update only applies if the row still holds the envelope read, so a concurrent change is
 * never overwritten, an interruption leaves every row readable, and a second run only
 * does what is left. Returns how many fields were re-encrypted.
 */
export async function reencryptAll(
  db: Db,
  cipher: FieldCipher,
  onProgress: ReencryptProgress = () => {},
): Promise<number> {
  const due: { field: EncryptedField; id: string; value: string }[] = [];
  for (const field of ENCRYPTED_FIELDS) {
    const rows = await sql<{ id: string; value: string }>`
      SELECT ${sql.ref(field.idColumn)} AS id, ${sql.ref(field.column)} AS value
      FROM ${sql.table(field.table)} WHERE ${sql.ref(field.column)} IS NOT NULL`.execute(db);
    for (const row of rows.rows) {
      if (envelopeKeyId(row.value) !== cipher.currentKeyId) due.push({ field, ...row });
    }
  }
  let done = 0;
  onProgress(0, due.length);
  for (const { field, id, value } of due) {
    const context = { table: field.table, column: field.column, rowId: id };
    const fresh = await cipher.encrypt(await cipher.decrypt(value, context), context);
    await sql`UPDATE ${sql.table(field.table)} SET ${sql.ref(field.column)} = ${fresh}
      WHERE ${sql.ref(field.idColumn)} = ${id} AND ${sql.ref(field.column)} = ${value}`
      .execute(db);
    onProgress(++done, due.length);
  }
  return done;
}

/** The names of the encrypted fields, for messages. */
export const ENCRYPTED_FIELD_NAMES = ENCRYPTED_FIELDS.map(fieldName);
