import assert from "node:assert/strict";
import {
  clientKey,
  compileTrustedProxies,
  isRequestSecure,
  parseForwarded,
  resolveClient,
  resolveClientIp,
  trustedProxyProblem,
} from "../../src/lib/client_ip.ts";
import { canonicalIp } from "../../src/lib/ip_address.ts";
import { ConfigError, parseConfig } from "../../src/config.ts";

const PROXIES = compileTrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.7"]);
const FORWARDED = compileTrustedProxies(["10.0.0.0/8"], { header: "forwarded" });

function client(peer: string, headers: Record<string, string>, proxies = PROXIES) {
  return resolveClient(peer, new Headers(headers), false, proxies);
}

Deno.test("canonicalIp() accepts valid addresses in canonical form and refuses the rest", () => {
  const cases: Array<[string, string | undefined]> = [
    ["192.0.2.1", "192.0.2.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::1", "::1"],
    ["::", "::"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0001:0001:0001:0001:0001", "2001:db8:0:1:1:1:1:1"],
    ["::ffff:192.0.2.9", "192.0.2.9"],
    ["::ffff:c000:209", "192.0.2.9"],
    ["fe80::1%eth0", "fe80::1"],
    ["64:ff9b::192.0.2.1", "64:ff9b::c000:201"],
    ["1::", "1::"],
    ["256.0.0.1", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3", undefined],
    ["1.2.3.4.5", undefined],
    ["1.2.3.", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1::2::3", undefined],
    ["12345::1", undefined],
    ["1:2:3:4:5:6:7:8::", undefined],
    [":1", undefined],
    ["1:", undefined],
    ["", undefined],
    ["unknown", undefined],
    ["<script>", undefined],
  ];
  for (const [input, expected] of cases) assert.equal(canonicalIp(input), expected, input);
});

Deno.test("compileTrustedProxies() matches addresses, CIDR ranges and keywords", () => {
  const proxies = compileTrustedProxies([
    "10.0.0.0/8",
    "203.0.113.5",
    "2001:db8::/32",
    "::ffff:172.16.0.0/108",
    "loopback",
  ]);
  assert.equal(proxies.size, 6);
  for (const ip of ["10.1.2.3", "203.0.113.5", "2001:db8:1::9", "172.16.9.9", "127.0.0.1", "::1"]) {
    assert.equal(proxies.contains(ip), true, ip);
  }
  for (const ip of ["11.0.0.1", "203.0.113.6", "2001:db9::1", "172.32.0.1", "::2", "garbage"]) {
    assert.equal(proxies.contains(ip), false, ip);
  }
  assert.equal(compileTrustedProxies(["0.0.0.0/0"]).contains("8.8.8.8"), true);
  assert.equal(compileTrustedProxies(["private"]).contains("fd00::1"), true);
});

Deno.test("compileTrustedProxies() refuses entries that are not addresses or ranges", () => {
  for (const bad of ["10.0.0.0/33", "10.0.0/8", "::/129", "10.0.0.0/", "10.0.0.0/08", "proxy"]) {
    assert.throws(() => compileTrustedProxies([bad]), TypeError, bad);
    assert.match(trustedProxyProblem(bad)!, /is not an IP address/);
  }
  assert.equal(trustedProxyProblem("2001:db8::/48"), undefined);
});

Deno.test("resolveClient() ignores forwarding headers from an untrusted peer", () => {
  const info = client("203.0.113.9", {
    "x-forwarded-for": "198.51.100.1",
    "x-forwarded-proto": "https",
  });
  assert.deepEqual(info, { ip: "203.0.113.9", secure: false, peerTrusted: false });
  assert.equal(
    resolveClientIp("203.0.113.9", new Headers(), { trustedProxies: [] }),
    "203.0.113.9",
  );
});

Deno.test("resolveClient() reads X-Forwarded-For right to left, skipping trusted hops", () => {
  const cases: Array<[string, string, string]> = [
    ["10.0.0.2", "198.51.100.1", "198.51.100.1"],
    // The left part is whatever the client sent: only the first untrusted hop counts.
    ["10.0.0.2", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"],
    ["10.0.0.2", "6.6.6.6,198.51.100.1 , 192.0.2.7", "198.51.100.1"],
    ["10.0.0.2", "[2001:db8::5]:4711", "2001:db8::5"],
    ["10.0.0.2", "198.51.100.1:5555", "198.51.100.1"],
    ["10.0.0.2", "::ffff:198.51.100.3", "198.51.100.3"],
    // Every hop trusted: the leftmost is the best we know.
    ["10.0.0.2", "10.1.1.1, 10.2.2.2", "10.1.1.1"],
    // Garbage ends the walk at the hop that forwarded it.
    ["10.0.0.2", "6.6.6.6, garbage, 10.3.3.3", "10.3.3.3"],
    ["10.0.0.2", "evil", "10.0.0.2"],
    ["10.0.0.2", "", "10.0.0.2"],
    ["10.0.0.2", "1.2.3.4, ", "10.0.0.2"],
    ["::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"],
    ["2001:db8:ffff::1", "198.51.100.1", "198.51.100.1"],
  ];
  for (const [peer, xff, expected] of cases) {
    const info = client(peer, { "x-forwarded-for": xff });
    assert.equal(info.ip, expected, `${peer} / ${xff}`);
    assert.equal(info.peerTrusted, true);
  }
  assert.equal(client("10.0.0.2", {}).ip, "10.0.0.2");
});

Deno.test("resolveClient() with header=forwarded reads RFC 7239 and ignores X-Forwarded-For", () => {
  const cases: Array<[string, string, boolean]> = [
    ["for=198.51.100.1;proto=https;by=10.0.0.2", "198.51.100.1", true],
    ['for="[2001:db8:cafe::17]:4711";proto=http', "2001:db8:cafe::17", false],
    ["for=6.6.6.6;proto=https, for=198.51.100.2;proto=http, for=10.4.4.4", "198.51.100.2", false],
    ["for=unknown", "10.0.0.2", false],
    ['for="_hidden", for=10.5.5.5;proto=https', "10.5.5.5", true],
    ["for=198.51.100.1;;", "10.0.0.2", false],
    ['for="unterminated', "10.0.0.2", false],
  ];
  for (const [forwarded, ip, secure] of cases) {
    const info = client("10.0.0.2", { forwarded, "x-forwarded-for": "7.7.7.7" }, FORWARDED);
    assert.deepEqual([info.ip, info.secure], [ip, secure], forwarded);
  }
  assert.equal(client("10.0.0.2", { "x-forwarded-for": "7.7.7.7" }, FORWARDED).ip, "10.0.0.2");
});

Deno.test("parseForwarded() handles quoting, case and several elements", () => {
  assert.deepEqual(parseForwarded('For="[::1]:80";PROTO=https , for=192.0.2.1'), [
    { for: "[::1]:80", proto: "https" },
    { for: "192.0.2.1" },
  ]);
  assert.equal(parseForwarded("for"), undefined);
});

Deno.test("isRequestSecure() trusts X-Forwarded-Proto only from a trusted peer", () => {
  const https = new Headers({ "x-forwarded-proto": "https" });
  assert.equal(isRequestSecure(true, https, false), true);
  assert.equal(isRequestSecure(false, https, false), false);
  assert.equal(isRequestSecure(false, new Headers(), true), true);
  assert.equal(
    isRequestSecure(true, new Headers({ "x-forwarded-proto": "HTTPS, http" }), false),
    true,
  );
  assert.equal(
    isRequestSecure(true, new Headers({ "x-forwarded-proto": "http" }), false),
    false,
  );
  assert.equal(client("10.0.0.2", { "x-forwarded-proto": "https" }).secure, true);
});

Deno.test("clientKey() is the address for IPv4 and the /64 network for IPv6", () => {
  assert.equal(clientKey("192.0.2.1"), "192.0.2.1");
  assert.equal(clientKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(clientKey("2001:db8:1:2::ffff"), clientKey("2001:db8:1:2:aaaa::1"));
  assert.notEqual(clientKey("2001:db8:1:2::1"), clientKey("2001:db8:1:3::1"));
  assert.equal(clientKey("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(clientKey("::1"), "::/64");
});

Deno.test("parseConfig() refuses unusable TRUSTED_PROXIES, TRUSTED_PROXY_HEADER and REDIS_URL", () => {
  const variables = (env: Record<string, string>) => {
    try {
      parseConfig(env);
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems.map((p) => p.variable);
    }
  };
  assert.deepEqual(variables({ TRUSTED_PROXIES: "10.0.0.0/8, proxy.local" }), ["TRUSTED_PROXIES"]);
  assert.deepEqual(variables({ TRUSTED_PROXY_HEADER: "x-real-ip" }), ["TRUSTED_PROXY_HEADER"]);
  assert.deepEqual(variables({ REDIS_URL: "localhost:6379" }), ["REDIS_URL"]);
  const config = parseConfig({ TRUSTED_PROXIES: "10.0.0.0/8,::1,loopback" });
  assert.deepEqual(config.trustedProxies, ["10.0.0.0/8", "::1", "loopback"]);
  assert.equal(config.trustedProxyHeader, "x-forwarded-for");
  assert.equal(parseConfig({ TRUSTED_PROXY_HEADER: "forwarded" }).trustedProxyHeader, "forwarded");
});
