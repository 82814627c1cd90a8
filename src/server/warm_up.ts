/**
 * Warming the password hasher up in the background as the server starts, so the first login
 * does not pay for it.
 */
import type { Logger } from "../platform/logger.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import { prepareDummyHash } from "../services/passwords.ts";

/**
 * What a serving isolate prepares once it listens, without holding up the first
 * response: the dummy hash that makes a login for an unknown email take as long as a
 * wrong password (a login arriving before it is ready waits for the same promise).
 * The password dictionaries (about 65 MiB resident) are not preloaded: they load on the
 * first password check, so a server that never registers users or changes passwords
 * never holds them, at the price of a first check that takes a few hundred ms longer.
 */
export function warmUpInBackground(hasher: PasswordHasher, logger: Logger): void {
  prepareDummyHash(hasher).catch((error) => logger.error("warm-up failed", { error }));
}
