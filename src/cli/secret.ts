/**
 * The `citadel secret` command: prints a fresh random value for JWT_SECRET_KEY and the other
 * key settings.
 */
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";

const SECRET_BYTES = 64;

/** Usage of `citadel secret`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel secret

Prints ${SECRET_BYTES} random bytes in base64: a value for JWT_SECRET_KEY, HASH_PEPPER or
ALERT_WEBHOOK_SECRET.`;

/**
 * `citadel secret`: prints 64 fresh random bytes in base64, a value for JWT_SECRET_KEY
 * (or any other key setting), so nobody needs `openssl rand` to follow the README.
 */
export function secret(args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true });
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  console.log(Buffer.from(bytes).toString("base64"));
  return Promise.resolve(0);
}
