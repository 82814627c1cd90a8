/**
 * The networks each account has logged in from: recorded at every login, for new-network
 * alerts and the login guard's success history.
 */
import type { Db } from "../db/schema.ts";

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4Octets(ip: string): number[] | undefined {
  const m = IPV4.exec(ip);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(ip: string): number[] | undefined {
  const halves = ip.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    const pieces = part.split(":");
    for (const [i, piece] of pieces.entries()) {
      const v4 = i === pieces.length - 1 ? ipv4Octets(piece) : undefined;
      if (v4) groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      else if (/^[0-9a-f]{1,4}$/i.test(piece)) groups.push(parseInt(piece, 16));
      else return undefined;
    }
    return groups;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...new Array(missing).fill(0), ...tail];
}

/**
 * The network an address belongs to for new-network alerts: the IPv4 /24
 * (`203.0.113.0/24`) or the IPv6 /48 (`2001:db8:1::/48`). IPv4-mapped IPv6 counts as
 * IPv4; anything unparseable is `unknown`.
 */
export function networkOf(ip: string): string {
  const bare = ip.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const v4 = ipv4Octets(bare);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const groups = ipv6Groups(bare);
  if (!groups) return "unknown";
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.0/24`;
  return `${groups.slice(0, 3).map((g) => g.toString(16)).join(":")}::/48`;
}

/** What {@linkcode recordLoginNetwork} found. */
export interface LoginNetworkResult {
  network: string;
  /** The account never logged in from this network before. */
  isNew: boolean;
  /** The account had logged in from some network before this login. */
  hadHistory: boolean;
}

/**
 * Records a successful login's network for the account and reports whether it is new.
 * Alert (`new_network_login`) when `isNew && hadHistory`: the first login of an account
 * is not suspicious. Call it inside the login transaction.
 */
export async function recordLoginNetwork(
  trx: Db,
  userId: string,
  ip: string,
  now: number,
): Promise<LoginNetworkResult> {
  const network = networkOf(ip);
  const known = await trx.selectFrom("login_networks").select("network")
    .where("user_id", "=", userId)
    .orderBy((eb) => eb.case().when("network", "=", network).then(0).else(1).end())
    .limit(1).executeTakeFirst();
  await trx.insertInto("login_networks")
    .values({ user_id: userId, network, first_seen_at: now, last_seen_at: now })
    .onConflict((oc) => oc.columns(["user_id", "network"]).doUpdateSet({ last_seen_at: now }))
    .execute();
  return { network, isNew: known?.network !== network, hadHistory: known !== undefined };
}

/**
 * Whether the account logged in successfully from `network` (see {@linkcode networkOf})
 * at or after `since`: the login guard's success history.
 */
export async function loggedInFrom(
  db: Db,
  userId: string,
  network: string,
  since: number,
): Promise<boolean> {
  const row = await db.selectFrom("login_networks").select("network")
    .where("user_id", "=", userId).where("network", "=", network)
    .where("last_seen_at", ">=", since).executeTakeFirst();
  return row !== undefined;
}
