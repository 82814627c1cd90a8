/**
 * Measures what the security headers cost: bare Hono, Hono with one no-op middleware
 * (what any middleware costs: Hono leaves its single-handler fast path), Hono +
 * citadel's secureHeaders and Hono + hono/secure-headers configured to send the same
 * headers, plus plain Deno.serve with and without the same headers (what sending them
 * costs the runtime whatever sets them), each served by Deno.serve on loopback and driven
 * by wrk in the same run, in alternating rounds; prints the median of each, its ratio to
 * bare Hono, and the in-process cost per request (app.fetch, no socket).
 *
 *   taskset -c 0 deno run --allow-net --allow-run scripts/bench_headers.ts [--seconds 5] [--rounds 3]
 *
 * Needs wrk (`apt-get install -y wrk`). wrk is pinned to the last core when taskset exists.
 */
import { parseArgs } from "node:util";
import { Hono, type MiddlewareHandler } from "hono";
import { secureHeaders as honoSecureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../src/app_types.ts";
import {
  CONTENT_SECURITY_POLICY,
  HSTS_MAX_AGE,
  secureHeaders,
  securityHeaderPairs,
} from "../src/middleware/secure_headers.ts";
import { setTrustedHeaders } from "../src/middleware/trusted_headers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "50" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

// The request arrived over TLS as far as the headers are concerned, so HSTS is sent too.
const markSecure: MiddlewareHandler<AppEnv> = async function markSecure(c, next) {
  c.set("secure", true);
  await next();
};

function bare() {
  return new Hono().get("/", (c) => c.json({ hello: "world" }));
}

function marked() {
  return new Hono<AppEnv>()
    .use(markSecure)
    .get("/", (c) => c.json({ hello: "world" }));
}

function citadel() {
  return new Hono<AppEnv>()
    .use(markSecure)
    .use(secureHeaders({}))
    .get("/", (c) => c.json({ hello: "world" }));
}

function stock() {
  return new Hono<AppEnv>()
    .use(markSecure)
    .use(honoSecureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
      crossOriginEmbedderPolicy: true,
      strictTransportSecurity: `max-age=${HSTS_MAX_AGE}; includeSubDomains`,
      xFrameOptions: "DENY",
      permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [] },
    }))
    .use(async (c, next) => {
      await next();
      c.header("cache-control", "no-store");
    })
    .get("/", (c) => c.json({ hello: "world" }));
}

// The runtime's own floor: the same headers on a plain Deno.serve response, appended
// without any JavaScript validation, so what remains is the cost of sending them.
const floorPairs = securityHeaderPairs({}, true);
const floorNames = new Set(floorPairs.map(([name]) => name));
const HELLO = JSON.stringify({ hello: "world" });
const denoBare = {
  fetch: () => new Response(HELLO, { headers: { "content-type": "application/json" } }),
};
const denoHeaders = {
  fetch: () => {
    const response = new Response(HELLO, { headers: { "content-type": "application/json" } });
    setTrustedHeaders(response.headers, floorPairs, floorNames);
    return response;
  },
};

const variants: Record<string, { fetch: (r: Request) => Response | Promise<Response> }> = {
  "bare Hono": bare(),
  "Hono + 1 no-op middleware": marked(),
  "Hono + citadel secureHeaders": citadel(),
  "Hono + hono/secure-headers": stock(),
  "Deno.serve, no Hono": denoBare,
  "Deno.serve + same headers": denoHeaders,
};

async function hasCommand(name: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", { args: ["-c", `command -v ${name}`] })
      .output();
    return success;
  } catch {
    return false;
  }
}

const pin = await hasCommand("taskset");
const cores = navigator.hardwareConcurrency;

async function drive(port: number): Promise<number> {
  const wrk = ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`];
  const args = pin ? ["-c", String(cores - 1), ...wrk] : wrk.slice(1);
  const out = await new Deno.Command(pin ? "taskset" : "wrk", { args, stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const match = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!out.success || !match) throw new Error(`wrk failed:\n${text}`);
  return Number(match[1]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const servers = Object.entries(variants).map(([name, app]) => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  return { name, server, port: server.addr.port, results: [] as number[] };
});

// Sanity check that the variants really send what is measured.
for (const { name, port } of servers) {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  await res.body?.cancel();
  if (name.includes("secure") && res.headers.get("content-security-policy") === null) {
    throw new Error(`${name} sends no CSP`);
  }
}
if (
  (await fetch(`http://127.0.0.1:${servers[2].port}/`).then(async (r) => {
    await r.body?.cancel();
    return r.headers.get("content-security-policy");
  })) !== CONTENT_SECURITY_POLICY
) throw new Error("citadel variant sends an unexpected CSP");

for (const { port } of servers) await drive(port); // warm-up: JIT, connection setup
for (let round = 0; round < rounds; round++) {
  for (const entry of servers) entry.results.push(await drive(entry.port));
}
for (const { server } of servers) await server.shutdown();

// The same apps called in-process: what the middleware costs in JavaScript alone,
// without the runtime's per-header cost of writing responses to the socket.
async function inProcessMicros(app: { fetch: (r: Request) => Response | Promise<Response> }) {
  const request = new Request("http://127.0.0.1/");
  for (let i = 0; i < 20_000; i++) await app.fetch(request);
  const n = 200_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) await app.fetch(request);
  return (performance.now() - started) * 1000 / n;
}

const base = median(servers[0].results);
const withMiddleware = median(servers[1].results);
console.log(
  `wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds, median req/s; in-process µs/request`,
);
console.log(
  `${"".padEnd(32)} ${"req/s".padStart(8)}  vs bare  vs 1 middleware  in-process  (rounds)`,
);
for (const { name, results } of servers) {
  const m = median(results);
  const micros = await inProcessMicros(variants[name]);
  console.log(
    `${name.padEnd(32)} ${m.toFixed(0).padStart(8)}  ${(m / base).toFixed(3).padStart(7)}  ` +
      `${(m / withMiddleware).toFixed(3).padStart(15)}  ${micros.toFixed(2).padStart(7)} µs  ` +
      `(${results.map((r) => r.toFixed(0)).join(", ")})`,
  );
}
