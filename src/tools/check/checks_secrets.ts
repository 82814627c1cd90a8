/**
 * The `citadel check` findings about the secrets that protect stored data (CIT-050 to
 * CIT-055): the hash pepper of stored token hashes (missing, derived from the JWT secret,
 * reused or weak) and ENCRYPTION_KEY of encrypted database fields (missing, reused or
 * guessable, fields left under an older key, a previous key nothing needs any more).
 */
import { createFieldCipher, parseFieldKey } from "../../lib/field_crypto.ts";
import {
  countByKeyId,
  ENCRYPTED_FIELD_NAMES,
  fieldsWithoutKey,
} from "../../services/encrypted_fields.ts";
import { assessSecret, weakFieldKeyReason } from "./secret_strength.ts";
import { type CheckContext, type CheckDefinition, defineCheck, type Detail } from "./types.ts";

const NEW_PEPPER = "Run `citadel secret` and set HASH_PEPPER to its output; hashes made " +
  "under the pepper derived from JWT_SECRET_KEY keep working and are re-hashed on use";
const REPLACE_PEPPER = "Run `citadel secret` and set HASH_PEPPER to its output. Plan it: " +
  "refresh tokens and API keys stored under the old HASH_PEPPER stop working (users sign " +
  "in again, API keys are issued anew)";
const KEEP_PEPPER_ROTATE_JWT = "Keep HASH_PEPPER (changing it ends every stored refresh " +
  "token and API key) and rotate the JWT secret instead: move JWT_SECRET_KEY to " +
  "JWT_SECRET_KEY_PREVIOUS and set JWT_SECRET_KEY to the output of `citadel secret`";
const NEW_FIELD_KEY = "Generate a key with `openssl rand -base64 32`, set ENCRYPTION_KEY to " +
  "it and ENCRYPTION_KEY_PREVIOUS to the old one, run `citadel keys reencrypt`, then unset " +
  "ENCRYPTION_KEY_PREVIOUS";
const REENCRYPT = "Run `citadel keys reencrypt` (with ENCRYPTION_KEY_PREVIOUS still set), " +
  "then unset ENCRYPTION_KEY_PREVIOUS";

function raw(context: CheckContext, name: string): string | undefined {
  const value = context.env[name]?.trim();
  return value ? value : undefined;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The key id envelopes under this key carry, or undefined for no valid key. */
async function keyIdOf(text: string | undefined): Promise<string | undefined> {
  const parsed = text === undefined ? undefined : parseFieldKey(text);
  if (!parsed || "problem" in parsed) return undefined;
  return (await createFieldCipher({ current: parsed.key })).currentKeyId;
}

interface FieldFacts {
  /** Envelopes by key id, over every encrypted field of the tables present. */
  counts: Map<string, number>;
  /** The key id of the key `serve` would use, if it has a valid one. */
  current?: string;
  /** The key id of ENCRYPTION_KEY_PREVIOUS, if it is set and valid. */
  previous?: string;
}

// Read once per context: three checks look at the same counts.
const fieldFactsCache = new WeakMap<CheckContext, Promise<FieldFacts | undefined>>();

/** The encrypted fields and key ids, or undefined without a database to read. */
function fieldFacts(context: CheckContext): Promise<FieldFacts | undefined> {
  let cached = fieldFactsCache.get(context);
  if (!cached) {
    cached = (async () => {
      const database = context.database;
      if (!database) return undefined;
      return {
        counts: await countByKeyId(database.db, database.tables),
        current: await keyIdOf(context.secrets.encryptionKey),
        previous: await keyIdOf(context.config.encryption.previousKey),
      };
    })();
    fieldFactsCache.set(context, cached);
  }
  return cached;
}

function pepperMissing(context: CheckContext): Detail[] {
  if (context.secrets.pepper !== "missing") return [];
  const unset = `HASH_PEPPER is unset and ${context.secrets.pepperFile} does not exist`;
  if (context.production) {
    return [{
      found: `${unset}, so \`serve\` refuses to start`,
      setting: "HASH_PEPPER",
    }];
  }
  return [{
    found: `${unset}: on Deno Deploy or Cloudflare Workers (no disk) stored token hashes ` +
      "use a pepper derived from JWT_SECRET_KEY, so rotating that secret ends every " +
      "refresh token and API key (on a server the next start generates the file)",
    setting: "HASH_PEPPER",
    severity: "medium",
  }];
}

function pepperWeak(context: CheckContext): Detail[] {
  const pepper = raw(context, "HASH_PEPPER");
  if (pepper === undefined) return [];
  for (const name of ["JWT_SECRET_KEY", "JWT_SECRET_KEY_PREVIOUS"]) {
    if (pepper === raw(context, name)) {
      return [{
        found: `HASH_PEPPER is the same value as ${name}: whoever holds one holds both, and ` +
          "the signing secret can no longer rotate without the pepper",
        fix: KEEP_PEPPER_ROTATE_JWT,
        setting: "HASH_PEPPER",
      }];
    }
  }
  const { tooShort, placeholder, lowEntropy } = assessSecret("HASH_PEPPER", pepper);
  return [tooShort, placeholder, lowEntropy].filter((found): found is string => !!found)
    .map((found) => ({ found, setting: "HASH_PEPPER" }));
}

async function fieldKeyMissing(context: CheckContext): Promise<Detail[]> {
  const database = context.database;
  // A key that is set but invalid is CIT-090's: the server refuses the configuration.
  if (!database || raw(context, "ENCRYPTION_KEY") !== undefined) return [];
  const n = await fieldsWithoutKey(database.db, context.secrets.encryptionKey, database.tables);
  if (n === 0) return [];
  const encrypted = `${plural(n, "database field")} encrypted (${
    ENCRYPTED_FIELD_NAMES.join(", ")
  }) but ENCRYPTION_KEY is unset`;
  return [{
    found: context.production
      ? `${encrypted}, so \`serve\` refuses to start`
      : `${encrypted} and no generated key exists: the key the next start generates will ` +
        "not decrypt them",
    setting: "ENCRYPTION_KEY",
  }];
}

async function fieldKeyWeak(context: CheckContext): Promise<Detail[]> {
  const key = raw(context, "ENCRYPTION_KEY");
  if (key === undefined) return [];
  const parsed = parseFieldKey(key);
  // An invalid key is CIT-090's: the server refuses the configuration.
  if ("problem" in parsed) return [];
  const details: Detail[] = [];
  for (const name of ["JWT_SECRET_KEY", "JWT_SECRET_KEY_PREVIOUS", "HASH_PEPPER"]) {
    if (key === raw(context, name)) {
      details.push({
        found: `ENCRYPTION_KEY is the same value as ${name}: whoever holds one holds both`,
        setting: "ENCRYPTION_KEY",
      });
    }
  }
  if (key === raw(context, "DATABASE_ENCRYPTION_KEY")) {
    details.push({
      found: "ENCRYPTION_KEY is the same value as DATABASE_ENCRYPTION_KEY: a copy of the " +
        "database and that one key open the file and every encrypted field in it",
      setting: "ENCRYPTION_KEY",
    });
  }
  const previous = context.config.encryption.previousKey;
  if (previous !== undefined && await keyIdOf(previous) === await keyIdOf(key)) {
    details.push({
      found: "ENCRYPTION_KEY_PREVIOUS is the same key as ENCRYPTION_KEY, so the last " +
        "rotation did not happen",
      fix: "Unset ENCRYPTION_KEY_PREVIOUS, or finish the rotation: " + NEW_FIELD_KEY,
      setting: "ENCRYPTION_KEY_PREVIOUS",
    });
  }
  const reason = weakFieldKeyReason(key, parsed.key);
  if (reason) {
    details.push({
      found: `ENCRYPTION_KEY ${reason}: the fields it encrypts are as good as plaintext`,
      setting: "ENCRYPTION_KEY",
      severity: "critical",
    });
  }
  return details;
}

async function fieldsUnderOldKeys(context: CheckContext): Promise<Detail[]> {
  const facts = await fieldFacts(context);
  if (!facts?.current) return [];
  const details: Detail[] = [];
  for (const [keyId, n] of facts.counts) {
    if (keyId === facts.current) continue;
    if (keyId === facts.previous) {
      details.push({
        found: `${plural(n, "database field")} still encrypted under ENCRYPTION_KEY_PREVIOUS ` +
          `(key id ${keyId}); ENCRYPTION_KEY is key id ${facts.current}`,
        setting: "ENCRYPTION_KEY_PREVIOUS",
      });
    } else {
      details.push({
        found: `${plural(n, "database field")} encrypted under key id ${keyId}, which is ` +
          `neither ENCRYPTION_KEY (key id ${facts.current}) nor ENCRYPTION_KEY_PREVIOUS, ` +
          "so they cannot be decrypted",
        fix: "Set ENCRYPTION_KEY_PREVIOUS to the key those fields were encrypted with, " +
          "then run `citadel keys reencrypt` and unset it",
        setting: "ENCRYPTION_KEY_PREVIOUS",
        severity: "high",
      });
    }
  }
  return details;
}

async function previousFieldKeyUnused(context: CheckContext): Promise<Detail[]> {
  const facts = await fieldFacts(context);
  if (!facts?.previous || facts.previous === facts.current) return [];
  return facts.counts.has(facts.previous) ? [] : [{
    found: `ENCRYPTION_KEY_PREVIOUS is set, but no database field is encrypted under it ` +
      `(key id ${facts.previous})`,
    setting: "ENCRYPTION_KEY_PREVIOUS",
  }];
}

/** The hash pepper and the field-encryption key. */
export const SECRET_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-050",
    severity: "critical",
    group: "passwords_keys",
    title: "No hash pepper of its own: HASH_PEPPER unset and no DATA_DIR/hash_pepper",
    fix: NEW_PEPPER,
    run: pepperMissing,
  }),
  defineCheck({
    id: "CIT-051",
    severity: "high",
    group: "passwords_keys",
    title: "HASH_PEPPER is a JWT secret, short, a placeholder or low in entropy",
    fix: REPLACE_PEPPER,
    run: pepperWeak,
  }),
  defineCheck({
    id: "CIT-052",
    severity: "critical",
    group: "passwords_keys",
    title: "Encrypted database fields but no ENCRYPTION_KEY",
    fix: "Set ENCRYPTION_KEY to the key those fields were encrypted with",
    run: fieldKeyMissing,
  }),
  defineCheck({
    id: "CIT-053",
    severity: "high",
    group: "passwords_keys",
    title: "ENCRYPTION_KEY is another secret's value or guessable",
    fix: NEW_FIELD_KEY,
    run: fieldKeyWeak,
  }),
  defineCheck({
    id: "CIT-054",
    severity: "medium",
    group: "passwords_keys",
    title: "Database fields not encrypted under ENCRYPTION_KEY",
    fix: REENCRYPT,
    run: fieldsUnderOldKeys,
  }),
  defineCheck({
    id: "CIT-055",
    severity: "low",
    group: "passwords_keys",
    title: "ENCRYPTION_KEY_PREVIOUS is set but no field needs it",
    fix: "Unset ENCRYPTION_KEY_PREVIOUS",
    run: previousFieldKeyUnused,
  }),
];
