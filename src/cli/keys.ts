/**
 * The `citadel keys` command: list, rotate and retire the JWT signing keys, and move every
 * encrypted database field to the current ENCRYPTION_KEY. Key management itself is the
 * service `/api/v1/admin/keys` uses too (services/key_admin.ts); this file parses, prints
 * and picks the exit code.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import { pendingMigrations } from "../db/migrator.ts";
import type { Db } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import { ExitError } from "../lib/exit_error.ts";
import { type FieldCipher, FieldCryptoError } from "../lib/field_crypto.ts";
import { createLogger, stderrSink } from "../platform/logger.ts";
import { openRuntime } from "../server/runtime.ts";
import { SYSTEM_ACTOR } from "../services/audit_events.ts";
import { createServices, type Services } from "../services/container.ts";
import { countByKeyId, reencryptAll } from "../services/encrypted_fields.ts";
import type { RotationView } from "../services/key_admin.ts";
import type { SigningKeyView } from "../services/signing_keys.ts";
import { resolveDataDirSecrets } from "./data_dir_secrets.ts";
import { loadConfig } from "./load_config.ts";
import { progressReporter } from "./progress.ts";
import { badArgument, usageError } from "./usage_error.ts";

/** Usage of `citadel keys`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel keys list [--json]
       citadel keys rotate [--force]
       citadel keys retire <kid>
       citadel keys reencrypt

list       every signing key: kid, algorithm, state, created, activated, expires
rotate     publish a next key (in the JWKS, signing nothing); run it again once the key has
           been published for JWKS_PUBLISH_DELAY to make it current (--force: at once)
retire     stop a key verifying at once (compromise); a retired current key is replaced
reencrypt  move every encrypted database field to the current ENCRYPTION_KEY, with
           ENCRYPTION_KEY_PREVIOUS set to the old key; idempotent, safe to interrupt

With JWT_ALGORITHM=HS256 the signing key is JWT_SECRET_KEY: list shows it, and it rotates
through the configuration (JWT_SECRET_KEY_PREVIOUS; see README, key rotation).`;

// Parsed before the configuration and database are opened, so a wrong argument is named
// (exit 2) before anything is read or created.
const SUBCOMMANDS = {
  list: { json: { type: "boolean" } },
  rotate: { force: { type: "boolean" } },
  retire: {},
  reencrypt: {},
} as const;

type Subcommand = keyof typeof SUBCOMMANDS;

interface KeysOptions {
  json: boolean;
  force: boolean;
  kid?: string;
}

function parseOptions(sub: Subcommand, args: string[]): KeysOptions {
  const { values, positionals } = parseArgs({
    args,
    options: SUBCOMMANDS[sub],
    allowPositionals: sub === "retire",
    strict: true,
  });
  const raw = values as Record<string, boolean | undefined>;
  if (sub === "retire") {
    if (positionals.length === 0) throw usageError("keys retire", "missing <kid>", USAGE);
    if (positionals.length > 1) throw badArgument("keys retire", positionals[1], USAGE);
  }
  return { json: raw.json === true, force: raw.force === true, kid: positionals[0] };
}

const orDash = (value: string | null) => value ?? "-";

/** The listing as aligned columns under a header. */
export function keyTable(keys: readonly SigningKeyView[]): string {
  const header = ["KID", "ALGORITHM", "STATE", "CREATED", "ACTIVATED", "EXPIRES", "RETIRED"];
  const rows = keys.map((k) => [
    k.kid,
    k.algorithm,
    k.state,
    orDash(k.created_at),
    orDash(k.activated_at),
    orDash(k.expires_at),
    orDash(k.retired_at),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows]
    .map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

async function list(services: Services, options: KeysOptions): Promise<number> {
  const keys = await services.keyAdmin.list();
  console.log(options.json ? JSON.stringify(keys, null, 2) : keyTable(keys));
  return 0;
}

function describeRotation(rotation: RotationView, config: Config): string[] {
  const { next } = rotation;
  if (rotation.action === "published") {
    const ready = Date.parse(next.created_at!) + config.jwt.publishDelaySeconds * 1000;
    return [
      `published next key ${next.kid} (${next.algorithm}): in the JWKS now, signing nothing yet`,
      `run \`citadel keys rotate\` again from ${new Date(ready).toISOString()} ` +
      `(JWKS_PUBLISH_DELAY=${config.jwt.publishDelaySeconds} s) to make it current`,
    ];
  }
  const lines = [`promoted ${rotation.current!.kid} to current: it signs new tokens now`];
  const previous = rotation.previous;
  if (previous) {
    lines.push(
      `previous key ${previous.kid} verifies until ${orDash(previous.expires_at)}, ` +
        "then leaves the JWKS by itself",
    );
  }
  lines.push(`published next key ${next.kid}`);
  return lines;
}

async function rotate(services: Services, config: Config, options: KeysOptions) {
  const rotation = await services.keyAdmin.rotate({ force: options.force }, SYSTEM_ACTOR);
  for (const line of describeRotation(rotation, config)) console.log(line);
  return 0;
}

async function retire(services: Services, kid: string): Promise<number> {
  const before = (await services.keyAdmin.list()).find((k) => k.kid === kid);
  const retired = await services.keyAdmin.retire(kid, SYSTEM_ACTOR);
  if (before?.state === "retired") {
    console.log(`${kid} was already retired (at ${orDash(retired.retired_at)})`);
    return 0;
  }
  console.log(
    `retired ${kid} (was ${before?.state ?? "unknown"}) at ${orDash(retired.retired_at)}: ` +
      "it verifies nothing from now on and has left the JWKS",
  );
  if (before?.state === "current") {
    const current = (await services.keyAdmin.list()).find((k) => k.state === "current");
    console.log(`the current signing key is now ${current?.kid ?? "(none)"}`);
  }
  return 0;
}

const fields = (n: number) => `${n} field${n === 1 ? "" : "s"}`;

/** Why reencrypt refuses fields under a key it does not hold, and the fix. */
function strayKeysMessage(strays: [string, number][], cipher: FieldCipher): string {
  const named = strays.map(([id, n]) => `${fields(n)} under key id ${id}`).join(", ");
  const which = strays.length === 1 ? "a key that is" : "keys that are";
  const previous = cipher.previousKeyId ? `key id ${cipher.previousKeyId}` : "unset";
  return `citadel keys reencrypt: ${named}, ${which} neither ENCRYPTION_KEY ` +
    `(key id ${cipher.currentKeyId}) nor ENCRYPTION_KEY_PREVIOUS (${previous}). Set ` +
    "ENCRYPTION_KEY_PREVIOUS to the key those fields were encrypted with and run it again; " +
    "nothing was changed";
}

async function reencrypt(services: Services, db: Db): Promise<number> {
  const cipher = await services.fieldCipher();
  const known = new Set([cipher.currentKeyId, cipher.previousKeyId].filter(Boolean));
  const counts = await countByKeyId(db);
  const strays = [...counts].filter(([id]) => !known.has(id));
  if (strays.length > 0) throw new ExitError(1, strayKeysMessage(strays, cipher));
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const due = total - (counts.get(cipher.currentKeyId) ?? 0);
  if (due === 0) {
    console.log(
      `nothing to re-encrypt: all ${fields(total)} are under ENCRYPTION_KEY (key id ` +
        `${cipher.currentKeyId})`,
    );
    return 0;
  }
  const progress = progressReporter({
    terminal: Deno.stderr.isTerminal(),
    write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    unit: "fields",
  });
  let done: number;
  try {
    done = await reencryptAll(
      db,
      cipher,
      (n, of) => progress.update({ phase: "reencrypt", done: n, total: of }),
    );
  } finally {
    progress.finish();
  }
  await services.audit(db, {
    ...SYSTEM_ACTOR,
    action: "signing_key.reencrypted",
    outcome: "success",
    details: { fields: done, key_id: cipher.currentKeyId },
  });
  console.log(`re-encrypted ${fields(done)} under ENCRYPTION_KEY (key id ${cipher.currentKeyId})`);
  const left = [...(await countByKeyId(db))]
    .filter(([id]) => id !== cipher.currentKeyId).reduce((a, [, n]) => a + n, 0);
  console.log(
    left === 0
      ? "no field is left under another key: ENCRYPTION_KEY_PREVIOUS is no longer needed"
      : `${fields(left)} changed meanwhile and are still under another key: run it again`,
  );
  return 0;
}

/**
 * A service's refusal as the command's failure (exit 1): the problem's detail
 * (rotation_too_early, key_not_found, keys_in_configuration) or the field that does not
 * decrypt.
 */
function asExitError(sub: Subcommand, error: unknown): unknown {
  if (error instanceof AppError) {
    const hint = error.code === "rotation_too_early" ? " (`citadel keys rotate --force`)" : "";
    return new ExitError(1, `citadel keys ${sub}: ${error.detail}${hint}`);
  }
  if (error instanceof FieldCryptoError) {
    return new ExitError(1, `citadel keys ${sub}: ${error.message}`);
  }
  return error;
}

/** `citadel keys list|rotate|retire <kid>|reencrypt`: manage signing keys and encrypted fields. */
export async function keys(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!Object.hasOwn(SUBCOMMANDS, sub ?? "")) {
    const problem = sub === undefined
      ? "missing subcommand: list, rotate, retire or reencrypt"
      : `unknown subcommand "${sub}"`;
    throw usageError("keys", problem, USAGE);
  }
  const name = sub as Subcommand;
  const options = parseOptions(name, rest);
  // The development JWT secret, pepper and ENCRYPTION_KEY live in the data directory: the
  // CLI must decrypt and sign with exactly what the server uses.
  const config = await resolveDataDirSecrets(
    await loadConfig(),
    (m) => console.error(`warning: ${m}`),
  );
  // Warnings of the runtime go to stderr, so `list --json` prints nothing but JSON.
  const logger = createLogger({ level: "warn", sinks: [stderrSink()] });
  const runtime = await openRuntime(config, { migrate: false, logger });
  try {
    const { db } = runtime.deps;
    const pending = await pendingMigrations(db);
    if (pending.length > 0) {
      throw new ExitError(
        1,
        `citadel keys: the database schema is not up to date (pending: ${pending.join(", ")}); ` +
          "run citadel migrate",
      );
    }
    const services = createServices(runtime.deps);
    if (name === "list") return await list(services, options);
    if (name === "rotate") return await rotate(services, config, options);
    if (name === "retire") return await retire(services, options.kid!);
    return await reencrypt(services, db);
  } catch (error) {
    throw asExitError(name, error);
  } finally {
    await runtime.close();
  }
}
