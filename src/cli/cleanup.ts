/**
 * The `citadel cleanup` command: removes expired sessions, old login records and stale
 * counters.
 */
import { parseArgs } from "node:util";
import { cleanupExpired } from "../services/cleanup.ts";
import { openCommandRuntime } from "./command_runtime.ts";
import { loadConfig } from "./load_config.ts";

/** Usage of `citadel cleanup`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel cleanup

Removes expired and old revoked sessions, login records older than
LOGIN_ATTEMPT_RETENTION_DAYS and stale counters (serve also does this hourly).`;

/** `citadel cleanup`: removes expired sessions, old login records and stale counters. */
export async function cleanup(args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true });
  const runtime = await openCommandRuntime(await loadConfig());
  try {
    const removed = await cleanupExpired(runtime.deps, runtime.deps.config);
    console.log(
      `removed ${removed.sessions} expired or revoked sessions, ` +
        `${removed.loginHistory} login records older than ${runtime.deps.config.loginGuard.retentionDays} days, ` +
        `${removed.emailTokens} spent email tokens, ${removed.emailOutbox} old email messages, ` +
        `${removed.passkeyChallenges} expired passkey challenges, ` +
        `${removed.oauth} expired social sign-in flows and codes, ` +
        `${removed.counters} stale counters`,
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
