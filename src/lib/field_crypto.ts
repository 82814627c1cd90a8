/**
 * Field encryption of secrets stored in the database (TOTP seeds, OAuth tokens, private
 * signing keys): AES-256-GCM under a fresh 12-byte nonce, with a per-row key derived by
 * HKDF-SHA256 from the master key (`ENCRYPTION_KEY`), the key id stored with the
 * ciphertext, and the table, column and row id bound as associated data, so a ciphertext
 * copied to another row or column does not decrypt. Also the strict parser of a master key's
 * text (base64, standard or url-safe, of exactly 32 bytes). Web Crypto only, no I/O.
 *
 * The envelope is compact text, `v1.<kid>.<nonce>.<ciphertext>`, each part canonical
 * base64url without padding; `<kid>` is derived from the key itself, so `ENCRYPTION_KEY`
 * and `ENCRYPTION_KEY_PREVIOUS` are told apart without configuration.
 */
import { fromBase64Url, hmac, importHmacKey, toBase64Url } from "./crypto.ts";

/** Length of a master key in bytes (AES-256). */
export const FIELD_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const KEY_ID_BYTES = 8;
const VERSION = "v1";
const KEY_ID_LABEL = "citadel/field-key-id";
const HKDF_SALT = new TextEncoder().encode("citadel/field-encryption/v1");
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Where an encrypted value lives: it decrypts only there. */
export interface FieldContext {
  /** Table name, e.g. `signing_keys`. */
  table: string;
  /** Column name, e.g. `private_key`. */
  column: string;
  /** The row's id (its UUID); never reused for another row. */
  rowId: string;
}

/** Master keys of {@linkcode createFieldCipher}: 32 bytes each. */
export interface FieldKeys {
  /** Encrypts, and decrypts what it encrypted. */
  current: Uint8Array<ArrayBuffer>;
  /** Decrypts only: fields under it are due for re-encryption under `current`. */
  previous?: Uint8Array<ArrayBuffer>;
}

/** Encrypts and decrypts database fields; built once, keys imported once. */
export interface FieldCipher {
  /** Key id of the current key, as it appears in envelopes. */
  readonly currentKeyId: string;
  /** Key id of the previous key, when one is configured. */
  readonly previousKeyId?: string;
  /** Encrypts `plaintext` for exactly this table, column and row. */
  encrypt(plaintext: string, context: FieldContext): Promise<string>;
  /** Decrypts an envelope; throws {@linkcode FieldCryptoError} if it does not belong here. */
  decrypt(envelope: string, context: FieldContext): Promise<string>;
  /** Whether the envelope is under the previous key (throws if under neither). */
  needsReencrypt(envelope: string): boolean;
}

/** A field that cannot be decrypted: malformed, tampered, moved, or under an unknown key. */
export class FieldCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FieldCryptoError";
  }
}

/**
 * Decodes a master key's text: base64, standard or url-safe, padded or not, of exactly 32
 * bytes. Returns the bytes, or a problem in sentence case ("is not base64", "decodes to 16
 * bytes, not 32").
 */
export function parseFieldKey(
  text: string,
): { key: Uint8Array<ArrayBuffer> } | { problem: string } {
  const body = text.replace(/={1,2}$/, "");
  const standard = /^[A-Za-z0-9+/]*$/.test(body);
  const urlSafe = /^[A-Za-z0-9_-]*$/.test(body);
  const padded = body.length !== text.length;
  if ((!standard && !urlSafe) || (padded && (text.length % 4 !== 0))) {
    return { problem: "is not base64" };
  }
  let key: Uint8Array<ArrayBuffer>;
  try {
    key = fromBase64Url(body.replaceAll("+", "-").replaceAll("/", "_"));
  } catch {
    return { problem: "is not base64" };
  }
  if (key.length !== FIELD_KEY_BYTES) {
    return { problem: `decodes to ${key.length} bytes, not ${FIELD_KEY_BYTES}` };
  }
  return { key };
}

interface ImportedKey {
  id: string;
  hkdf: CryptoKey;
}

async function importFieldKey(raw: Uint8Array<ArrayBuffer>, name: string): Promise<ImportedKey> {
  if (raw.length !== FIELD_KEY_BYTES) {
    throw new Error(`The ${name} field-encryption key must be ${FIELD_KEY_BYTES} bytes`);
  }
  const id = toBase64Url(
    (await hmac(await importHmacKey(raw), KEY_ID_LABEL)).slice(0, KEY_ID_BYTES),
  );
  const hkdf = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  return { id, hkdf };
}

/** The row's identity under one key: HKDF info and GCM associated data, unambiguous. */
function binding(keyId: string, { table, column, rowId }: FieldContext): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify([VERSION, keyId, table, column, rowId]));
}

function rowKey(key: ImportedKey, bound: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: bound },
    key.hkdf,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function where({ table, column, rowId }: FieldContext): string {
  return `${table}.${column} of row ${rowId}`;
}

interface Envelope {
  keyId: string;
  nonce: Uint8Array<ArrayBuffer>;
  ciphertext: Uint8Array<ArrayBuffer>;
}

function parseEnvelope(envelope: string): Envelope {
  const parts = envelope.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new FieldCryptoError(`Not a ${VERSION} field-encryption envelope`);
  }
  try {
    const nonce = fromBase64Url(parts[2]);
    const ciphertext = fromBase64Url(parts[3]);
    if (nonce.length === NONCE_BYTES && ciphertext.length >= 16) {
      return { keyId: parts[1], nonce, ciphertext };
    }
  } catch {
    // Reported below, with the same message as a wrong length.
  }
  throw new FieldCryptoError("Malformed field-encryption envelope: bad nonce or ciphertext");
}

/**
 * Builds a {@linkcode FieldCipher} from 32-byte master keys, importing them once. A
 * `previous` key equal to `current` is the same key and is ignored.
 */
export async function createFieldCipher(keys: FieldKeys): Promise<FieldCipher> {
  const current = await importFieldKey(keys.current, "current");
  const imported = keys.previous ? await importFieldKey(keys.previous, "previous") : undefined;
  const previous = imported?.id === current.id ? undefined : imported;
  const byId = new Map([current, ...(previous ? [previous] : [])].map((k) => [k.id, k]));

  function keyOf(keyId: string): ImportedKey {
    const key = byId.get(keyId);
    if (key) return key;
    throw new FieldCryptoError(
      `Field encrypted under unknown key id ${JSON.stringify(keyId)}: ` +
        "set ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS to the key it was encrypted with",
    );
  }

  return {
    currentKeyId: current.id,
    previousKeyId: previous?.id,
    async encrypt(plaintext, context) {
      const bound = binding(current.id, context);
      const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
      const sealed = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: nonce, additionalData: bound },
        await rowKey(current, bound),
        encoder.encode(plaintext),
      );
      return [VERSION, current.id, toBase64Url(nonce), toBase64Url(new Uint8Array(sealed))]
        .join(".");
    },
    async decrypt(envelope, context) {
      const { keyId, nonce, ciphertext } = parseEnvelope(envelope);
      const key = keyOf(keyId);
      const bound = binding(key.id, context);
      let opened: ArrayBuffer;
      try {
        opened = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: nonce, additionalData: bound },
          await rowKey(key, bound),
          ciphertext,
        );
      } catch {
        throw new FieldCryptoError(
          `Field ${where(context)} does not decrypt: tampered with, or copied from ` +
            "another row or column",
        );
      }
      return decoder.decode(opened);
    },
    needsReencrypt(envelope) {
      const { keyId } = parseEnvelope(envelope);
      return keyOf(keyId) === previous;
    },
  };
}
