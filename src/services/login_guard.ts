/**
 * Brute-force protection of password logins: attempt budgets per account and address, per
 * address, per email and per device credential, that cannot lock the owner out.
 */
import { normalizeEmail } from "../db/users_repo.ts";
import { AppError, problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import {
  type CounterHit,
  type CounterStore,
  CounterStoreUnavailable,
} from "../platform/counter_store.ts";

/** The thresholds of the guard; `config.loginGuard` fits (validated there, not again here). */
export interface LoginGuardLimits {
  maxAttempts: number;
  windowMinutes: number;
  ipMaxAttempts: number;
  emailMaxAttempts: number;
}

/** Options of {@linkcode createLoginGuard}. */
export interface LoginGuardOptions {
  counters: CounterStore;
  clock: Clock;
  limits: LoginGuardLimits;
  /**
   * Whether `account` logged in successfully from `network` (the attempt's `network`
   * option, else its IP key) within the retention period. Asked only once the
   * account's budget across all addresses is spent, so a targeted account stays usable
   * from the places its owner uses.
   */
  hasSuccessHistory: (account: string, network: string) => Promise<boolean>;
}

/** Which budget refused an attempt. */
export type LoginBlockReason = "pair" | "ip" | "email" | "device";

/** What else is known of an attempt besides its address and account. */
export interface LoginAttemptOptions {
  /** The client's network (IPv4 /24, IPv6 /48) for the success-history exemption. */
  network?: string;
  /**
   * The id of a valid device credential of this account: the attempt is then judged
   * only against that device's own budget (`maxAttempts` per window).
   */
  device?: string;
}

/** A reserved attempt; hand it back through `succeeded` or `failed` once verified. */
export interface LoginTicket {
  readonly ipKey: string;
  readonly email: string;
}

/** The verdict on a login attempt, given before the password is verified. */
export type LoginDecision =
  | { allowed: true; ticket: LoginTicket }
  | { allowed: false; retryAfterSeconds: number; reason: LoginBlockReason };

/** Brute-force protection for password logins; see {@linkcode createLoginGuard}. */
export interface LoginGuard {
  /**
   * Reserves an attempt on `account` (the account id of an existing account, else the
   * normalised login name); call before verifying the password, and skip it when refused.
   */
  attempt(ipKey: string, account: string, options?: LoginAttemptOptions): Promise<LoginDecision>;
  /** Clears the pair's failures and refunds the address and email reservations. */
  succeeded(ticket: LoginTicket): Promise<void>;
  /** Keeps the reservation as a failure. */
  failed(ticket: LoginTicket): Promise<void>;
  /**
   * Forgets the failures counted against `account` (across addresses) and, with `ipKey`, those
   * of that address on it: after a password reset the owner signs in at once.
   */
  clear(account: string, ipKey?: string): Promise<void>;
}

interface Reservation extends LoginTicket {
  pairKey: string;
  /** Counters to refund on success, with the end of the window each was hit in. */
  refunds: Array<[key: string, resetAt: number]>;
  settled: boolean;
}

/**
 * Counts failed logins per (client IP key, account) pair, per IP key and per account in
 * one fixed window, in the shared counter store. The account is the account id when the
 * login names an existing account (so its username and email share one budget), else
 * the login name.
 *
 * An attempt is reserved (counted) before the password is verified, which keeps the
 * limits exact under concurrency: of 50 simultaneous attempts on a fresh pair at most
 * `maxAttempts` are allowed. A refused attempt is refunded, so requests during a block
 * neither extend nor deepen it. The per-account budget only throttles networks without a
 * successful login for that account, and an attempt with a valid device credential is
 * judged only by that device's budget, so spending it cannot lock the owner out.
 *
 * Store failures throw {@linkcode CounterStoreUnavailable}: the caller must refuse the
 * login (fail closed), e.g. with {@linkcode guardUnavailable}.
 */
export function createLoginGuard(options: LoginGuardOptions): LoginGuard {
  const { counters, clock, limits, hasSuccessHistory } = options;
  const windowMs = limits.windowMinutes * 60_000;

  const store = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      throw error instanceof CounterStoreUnavailable ? error : new CounterStoreUnavailable(error);
    }
  };
  const hit = (key: string, by = 1) => store(() => counters.hit(key, windowMs, by));
  const retryAfter = (resetAt: number) => Math.max(1, Math.ceil((resetAt - clock.now()) / 1000));
  // A refund after the window rolled over would eat a hit that belongs to the next one.
  const refund = (key: string, resetAt: number) =>
    resetAt > clock.now() ? hit(key, -1).then(() => {}) : Promise.resolve();
  const refused = (reason: LoginBlockReason, resetAt: number): LoginDecision => ({
    allowed: false,
    reason,
    retryAfterSeconds: retryAfter(resetAt),
  });

  async function attemptFromDevice(
    ipKey: string,
    email: string,
    device: string,
  ): Promise<LoginDecision> {
    const pairKey = `login:device:${device}`;
    const hitDevice = await hit(pairKey);
    if (hitDevice.count > limits.maxAttempts) {
      await refund(pairKey, hitDevice.resetAt);
      return refused("device", hitDevice.resetAt);
    }
    const ticket: Reservation = { ipKey, email, pairKey, refunds: [], settled: false };
    return { allowed: true, ticket };
  }

  async function attempt(
    ipKey: string,
    account: string,
    options: LoginAttemptOptions = {},
  ): Promise<LoginDecision> {
    // The one email rule, so `Alice@X` and `alice@x` share budgets even when a caller
    // passes a login name as typed.
    const email = normalizeEmail(account);
    if (options.device !== undefined) return await attemptFromDevice(ipKey, email, options.device);
    const pairKey = `login:pair:${ipKey}|${email}`;
    const ipCounter = `login:ip:${ipKey}`;
    const emailCounter = `login:email:${email}`;

    // The pair goes first and alone: a blocked pair is the common case under attack and
    // must not bump the shared counters even briefly.
    const pair = await hit(pairKey);
    if (pair.count > limits.maxAttempts) {
      await refund(pairKey, pair.resetAt);
      return refused("pair", pair.resetAt);
    }
    let ip: CounterHit, byEmail: CounterHit;
    try {
      [ip, byEmail] = await Promise.all([hit(ipCounter), hit(emailCounter)]);
    } catch (error) {
      await refund(pairKey, pair.resetAt).catch(() => {});
      throw error;
    }
    const refundAll = () =>
      Promise.all([
        refund(pairKey, pair.resetAt),
        refund(ipCounter, ip.resetAt),
        refund(emailCounter, byEmail.resetAt),
      ]);

    if (ip.count > limits.ipMaxAttempts) {
      await refundAll();
      return refused("ip", ip.resetAt);
    }
    if (byEmail.count > limits.emailMaxAttempts) {
      let known: boolean;
      try {
        known = await hasSuccessHistory(email, options.network ?? ipKey);
      } catch (error) {
        await refundAll().catch(() => {});
        throw error;
      }
      if (!known) {
        await refundAll();
        return refused("email", byEmail.resetAt);
      }
    }
    const ticket: Reservation = {
      ipKey,
      email,
      pairKey,
      refunds: [[ipCounter, ip.resetAt], [emailCounter, byEmail.resetAt]],
      settled: false,
    };
    return { allowed: true, ticket };
  }

  function claim(ticket: LoginTicket): Reservation | undefined {
    const reservation = ticket as Reservation;
    if (reservation.settled || reservation.pairKey === undefined) return undefined;
    reservation.settled = true;
    return reservation;
  }

  return {
    attempt,
    async succeeded(ticket) {
      const r = claim(ticket);
      if (!r) return;
      await Promise.all([
        store(() => counters.reset(r.pairKey)),
        ...r.refunds.map(([key, resetAt]) => refund(key, resetAt)),
      ]);
    },
    failed(ticket) {
      claim(ticket);
      return Promise.resolve();
    },
    async clear(account, ipKey) {
      const email = normalizeEmail(account);
      await Promise.all([
        store(() => counters.reset(`login:email:${email}`)),
        ipKey === undefined
          ? undefined
          : store(() => counters.reset(`login:pair:${ipKey}|${email}`)),
      ]);
    },
  };
}

/** The 429 a login route sends for a refused attempt, with `Retry-After`. */
export function tooManyAttempts(retryAfterSeconds: number): AppError {
  return problem("too_many_attempts", {
    detail: "Too many failed login attempts; try again later",
    headers: { "retry-after": String(retryAfterSeconds) },
  });
}

/** The fail-closed 503 for a guard (login guard, rate limit) whose counter store is unreachable. */
export function guardUnavailable(cause?: unknown): AppError {
  return problem("guard_unavailable", {
    detail: "Abuse protection is temporarily unavailable; try again shortly",
    headers: { "retry-after": "5" },
    cause,
  });
}

/** Runs guard work on the counter store, failing closed (503) when the store is unreachable. */
export async function failClosed<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CounterStoreUnavailable) throw guardUnavailable(error);
    throw error;
  }
}
