import assert from "node:assert/strict";
import { insertUser } from "../../src/db/users_repo.ts";
import { networkOf, recordLoginNetwork } from "../../src/services/login_networks.ts";
import { openAuditTestDb } from "../support/audit_test_db.ts";

Deno.test("networkOf() groups IPv4 by /24 and IPv6 by /48", () => {
  const cases: Array<[string, string]> = [
    ["203.0.113.77", "203.0.113.0/24"],
    ["10.1.2.3", "10.1.2.0/24"],
    ["2001:db8:1:2::5", "2001:db8:1::/48"],
    ["2001:0DB8:0001:ffff:0:0:0:1", "2001:db8:1::/48"],
    ["[2001:db8:abcd::1]", "2001:db8:abcd::/48"],
    ["fe80::1%eth0", "fe80:0:0::/48"],
    ["::1", "0:0:0::/48"],
    ["::ffff:198.51.100.20", "198.51.100.0/24"],
    ["::ffff:c633:6414", "198.51.100.0/24"],
    ["256.1.1.1", "unknown"],
    ["1:2:3:4:5:6:7:8:9", "unknown"],
    ["2001:db8::1::2", "unknown"],
    ["not-an-ip", "unknown"],
  ];
  for (const [ip, network] of cases) assert.equal(networkOf(ip), network, ip);
});

Deno.test("recordLoginNetwork() reports a new network only after the account has a history", async () => {
  await using t = await openAuditTestDb();
  const now = t.clock.now();
  const user = await insertUser(t.db, { email: "net@example.com", passwordHash: "x" }, now);
  const first = await recordLoginNetwork(t.db, user.id, "203.0.113.10", now);
  assert.deepEqual(first, { network: "203.0.113.0/24", isNew: true, hadHistory: false });
  const sameNetwork = await recordLoginNetwork(t.db, user.id, "203.0.113.200", now + 1000);
  assert.deepEqual(sameNetwork, { network: "203.0.113.0/24", isNew: false, hadHistory: true });
  const elsewhere = await t.db.transaction().execute((trx) =>
    recordLoginNetwork(trx, user.id, "2001:db8:7::9", now + 2000)
  );
  assert.deepEqual(elsewhere, { network: "2001:db8:7::/48", isNew: true, hadHistory: true });
  const rows = await t.db.selectFrom("login_networks").selectAll().orderBy("first_seen_at")
    .execute();
  assert.deepEqual(rows.map((r) => [r.network, r.first_seen_at, r.last_seen_at]), [
    ["203.0.113.0/24", now, now + 1000],
    ["2001:db8:7::/48", now + 2000, now + 2000],
  ]);
});
