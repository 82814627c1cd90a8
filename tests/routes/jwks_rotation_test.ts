/**
 * Acceptance of issue 16 for `GET /.well-known/jwks.json`: a separate verifier process
 * (examples/jose_verifier.ts, `jose` and the JWKS URL only, no shared secret) and citadel
 * itself (`serve --workers 2`, EdDSA) accept every valid token while a client keeps logging
 * in and the keys are rotated, promoted and the previous key retired; the retired key is
 * refused by both workers within 1 s and leaves the JWKS at once.
 */
import assert from "node:assert/strict";
import { type ServerProcess, startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { spawnServer } from "../support/spawned_server.ts";
import { STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";

const EXAMPLE = new URL("../../examples/jose_verifier.ts", import.meta.url).pathname;
const PUBLISH_DELAY_SECONDS = 2;
const ISSUER = "https://auth.citadel.test";
const AUDIENCE = "orders-api";
const ADMIN = { email: "root@citadel.test", password: "Bootstrap-Harbor-Pass-91!" };
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"];
const REQUEST_TIMEOUT_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function randomBase64(bytes: number): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}

/** The `kid` of a JWT's protected header. */
function kidOf(token: string): string {
  const header = token.split(".")[0].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(header)).kid;
}

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Headers;
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, body, headers: response.headers };
}

let requestCounter = 0;

/**
 * One keep-alive connection to citadel, so every request on it reaches one worker. Used by
 * one caller at a time: a second request in flight would open another connection.
 */
interface Lane {
  worker: number;
  call(method: string, path: string, init?: { token?: string; body?: unknown }): Promise<Answer>;
  /** The worker that logged the access line of a request sent now (lines arrive batched). */
  servedBy(): Promise<number>;
  close(): void;
}

function openLane(server: ServerProcess): Omit<Lane, "worker"> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 1 });
  const send = async (
    method: string,
    path: string,
    init: { token?: string; body?: unknown; requestId?: string } = {},
  ) =>
    await answerOf(
      await fetch(`${server.url}${path}`, {
        method,
        client,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        headers: {
          ...(init.requestId ? { "x-request-id": init.requestId } : {}),
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
    );
  return {
    call: (method, path, init) => send(method, path, init),
    async servedBy() {
      const requestId = `jwks-rotation-${++requestCounter}`;
      await send("GET", "/health", { requestId });
      for (let waited = 0; waited < 5000; waited += 20) {
        const line = server.output.find((l) => l.includes(`"request_id":"${requestId}"`));
        const worker = line && /"worker":(\d+)/.exec(line)?.[1];
        if (worker) return Number(worker);
        await sleep(20);
      }
      throw new Error(`no access log line for ${requestId}:\n${server.output.join("\n")}`);
    },
    close: () => client.close(),
  };
}

/** Opens connections until `perWorker` lanes are pinned to each of workers 1 and 2. */
async function lanesPerWorker(server: ServerProcess, perWorker: number): Promise<Lane[][]> {
  const found = new Map<number, Lane[]>([[1, []], [2, []]]);
  for (let attempt = 0; attempt < 120; attempt++) {
    if ([...found.values()].every((lanes) => lanes.length >= perWorker)) break;
    const lane = openLane(server);
    const worker = await lane.servedBy();
    const lanes = found.get(worker)!;
    if (lanes.length >= perWorker) lane.close();
    else lanes.push({ ...lane, worker });
  }
  for (const [worker, lanes] of found) {
    assert.equal(lanes.length, perWorker, `connections reached worker ${worker}`);
  }
  return [found.get(1)!, found.get(2)!];
}

/** Checks one JWKS answer against the contract; returns its kids. */
function checkJwks(answer: Answer, failures: string[]): string[] {
  const problems: string[] = [];
  if (answer.status !== 200) problems.push(`status ${answer.status}`);
  const cache = answer.headers.get("cache-control") ?? "";
  const maxAge = Number(/max-age=(\d+)/.exec(cache)?.[1] ?? NaN);
  if (!/\bpublic\b/.test(cache) || !(maxAge <= 300)) problems.push(`cache-control "${cache}"`);
  const keys: Record<string, unknown>[] = answer.body?.keys ?? [];
  if (keys.length === 0) problems.push("no keys");
  for (const key of keys) {
    const leaked = PRIVATE_MEMBERS.filter((member) => member in key);
    if (leaked.length > 0) problems.push(`private members ${leaked} in ${key.kid}`);
    for (const member of ["kid", "kty", "alg", "crv", "x"]) {
      if (typeof key[member] !== "string") problems.push(`${key.kid} lacks ${member}`);
    }
    if (key.use !== "sig" || key.kty !== "OKP" || key.alg !== "EdDSA" || key.crv !== "Ed25519") {
      problems.push(`unexpected key ${JSON.stringify(key)}`);
    }
  }
  if (problems.length > 0) failures.push(`JWKS: ${problems.join("; ")}`);
  return keys.map((key) => String(key.kid));
}

Deno.test("EdDSA: a jose verifier and citadel accept every valid token through rotate, promote and retire; the retired key is refused within 1 s", async () => {
  await using dir = await tempDir();
  const citadel = await startServer({
    DATABASE_URL: `file:${dir.path}/citadel.db`,
    JWT_ALGORITHM: "EdDSA",
    JWKS_PUBLISH_DELAY: String(PUBLISH_DELAY_SECONDS),
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_SECRET_KEY: TEST_SECRET,
    ENCRYPTION_KEY: randomBase64(32),
    HASH_PEPPER: randomBase64(32),
    SUPER_ADMIN_USERNAME: ADMIN.email,
    SUPER_ADMIN_PASSWORD: ADMIN.password,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
    RATE_LIMIT_ENABLED: "false",
  }, { cwd: dir.path, args: ["--workers", "2"] });
  const jwksUrl = `${citadel.url}/.well-known/jwks.json`;
  // The example as its README section configures it, with its cache shortened like the
  // publish delay (1 s < 2 s) and the production cooldown of 30 s: a token whose kid the
  // verifier has not seen would be refused for the rest of this test, so any such refusal
  // fails it.
  const verifier = await spawnServer(
    Deno.execPath(),
    ["run", "--allow-net", "--allow-env", EXAMPLE],
    /"msg":"listening".*"port":(\d+)/,
    {
      env: {
        JWKS_URL: jwksUrl,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        HOST: "127.0.0.1",
        PORT: "0",
        JWKS_CACHE_MAX_AGE: "1",
        JWKS_COOLDOWN: "30",
        NO_COLOR: "1",
      },
      clearEnv: true,
      timeoutMs: 30_000,
    },
  );
  const verifierUrl = `http://127.0.0.1:${verifier.ready[1]}/`;
  // Two lanes per worker: one for the client loop, one for the operator and the probes.
  const [[loopA, probeA], [loopB, probeB]] = await lanesPerWorker(citadel, 2);
  const lanes = [loopA, probeA, loopB, probeB];

  const failures: string[] = [];
  const issued: { token: string; kid: string }[] = [];
  const verifiedByKid = new Map<string, number>();
  let retiredKid: string | undefined;
  let stopped = false;

  const verify = async (token: string) =>
    await answerOf(
      await fetch(verifierUrl, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }),
    );

  /** One token through the verifier and through citadel's `/me` on `lane`. */
  const check = async (entry: { token: string; kid: string }, lane: Lane, label: string) => {
    const [byVerifier, byCitadel] = await Promise.all([
      verify(entry.token),
      lane.call("GET", "/api/v1/me", { token: entry.token }),
    ]);
    // Refusal is right only for the retired key, once its retirement has begun.
    const mayBeRefused = entry.kid === retiredKid;
    if (byVerifier.status === 200) {
      const { claims, kid } = byVerifier.body;
      if (kid !== entry.kid || claims.iss !== ISSUER || claims.aud !== AUDIENCE) {
        failures.push(`verifier answered ${JSON.stringify(byVerifier.body)} for ${label}`);
      }
      verifiedByKid.set(kid, (verifiedByKid.get(kid) ?? 0) + 1);
    } else if (!(mayBeRefused && byVerifier.status === 401)) {
      failures.push(`verifier ${byVerifier.status} ${JSON.stringify(byVerifier.body)}: ${label}`);
    }
    if (byCitadel.status !== 200 && !(mayBeRefused && byCitadel.status === 401)) {
      failures.push(`worker ${lane.worker} /me ${byCitadel.status}: ${label} (${entry.kid})`);
    }
  };

  const user = { email: uniqueEmail("rotation"), password: STRONG_PASSWORD };
  const registered = await loopA.call("POST", "/api/v1/auth/register", { body: user });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));

  /** Logs in, alternating workers; checks each new token and re-uses older ones. */
  const clientLoop = async () => {
    for (let i = 0; !stopped; i++) {
      const [signer, other] = i % 2 === 0 ? [loopA, loopB] : [loopB, loopA];
      const login = await signer.call("POST", "/api/v1/auth/login", { body: user });
      if (login.status !== 200) {
        failures.push(`login on worker ${signer.worker}: ${login.status}`);
        continue;
      }
      const entry = { token: login.body.access_token as string, kid: "" };
      entry.kid = kidOf(entry.token);
      const kids = checkJwks(await other.call("GET", "/.well-known/jwks.json"), failures);
      if (!kids.includes(entry.kid)) failures.push(`token kid ${entry.kid} not in JWKS ${kids}`);
      await check(entry, other, `new token ${i} from worker ${signer.worker}`);
      if (issued.length > 0) {
        await check(issued[0], signer, "the first token");
        const older = issued[Math.floor(Math.random() * issued.length)];
        await check(older, other, "an older token");
      }
      issued.push(entry);
      await sleep(30);
    }
  };

  let loop: Promise<void> | undefined;
  try {
    const admin = await probeA.call("POST", "/api/v1/auth/login", { body: ADMIN });
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    let adminToken: string = admin.body.access_token;
    const rotate = (body: { force?: boolean } = {}) =>
      probeA.call("POST", "/api/v1/admin/keys/rotate", { token: adminToken, body });

    const initial = checkJwks(await probeB.call("GET", "/.well-known/jwks.json"), failures);
    assert.equal(initial.length, 1, "one key before any rotation");
    const [first] = initial;

    loop = clientLoop();
    await sleep(1000);

    // 1. Publish the next key: in the JWKS at once, signing nothing yet.
    const published = await rotate();
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.equal(published.body.action, "published");
    const second: string = published.body.next.kid;
    const afterPublish = checkJwks(await probeB.call("GET", "/.well-known/jwks.json"), failures);
    assert.deepEqual(afterPublish.toSorted(), [first, second].toSorted());
    const early = await rotate();
    assert.equal(early.status, 409, "promotion before JWKS_PUBLISH_DELAY is refused");
    assert.equal(early.body.code, "rotation_too_early");

    // 2. Past the delay, promote it: the first key becomes previous and still verifies.
    await sleep(PUBLISH_DELAY_SECONDS * 1000 + 1000);
    const promoted = await rotate();
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    assert.equal(promoted.body.action, "promoted");
    assert.equal(promoted.body.current.kid, second);
    assert.equal(promoted.body.previous.kid, first);
    const third: string = promoted.body.next.kid;

    // Keep going until both workers' tokens of the new key went through the verifier.
    for (let waited = 0; waited < 15_000; waited += 100) {
      if ((verifiedByKid.get(second) ?? 0) >= 4) break;
      await sleep(100);
    }
    await sleep(1000);
    assert.deepEqual(failures, [], "no valid token refused before the retirement");
    assert.ok((verifiedByKid.get(first) ?? 0) > 0, "tokens of the first key were verified");
    assert.ok((verifiedByKid.get(second) ?? 0) >= 4, "tokens of the promoted key were verified");

    // 3. Retire the previous key, as after a compromise, with an admin token of the new one.
    for (let i = 0; kidOf(adminToken) !== second && i < 50; i++) {
      adminToken = (await probeA.call("POST", "/api/v1/auth/login", { body: ADMIN })).body
        .access_token;
    }
    assert.equal(kidOf(adminToken), second);
    const oldToken = issued.find((entry) => entry.kid === first)!.token;
    retiredKid = first;
    const retired = await probeA.call("POST", `/api/v1/admin/keys/${first}/retire`, {
      token: adminToken,
    });
    const retiredAt = performance.now();
    assert.equal(retired.status, 200, JSON.stringify(retired.body));
    assert.equal(retired.body.key.state, "retired");

    for (const probe of [probeA, probeB]) {
      const kids = checkJwks(await probe.call("GET", "/.well-known/jwks.json"), failures);
      assert.deepEqual(kids.toSorted(), [second, third].toSorted(), "the retired key left");
    }
    const refusedAfter = await Promise.all([probeA, probeB].map(async (probe) => {
      while (performance.now() - retiredAt < 5000) {
        const me = await probe.call("GET", "/api/v1/me", { token: oldToken });
        if (me.status === 401) return performance.now() - retiredAt;
        await sleep(20);
      }
      return Infinity;
    }));
    for (const [i, ms] of refusedAfter.entries()) {
      assert.ok(ms <= 1000, `worker ${i + 1} refused the retired key's token after ${ms} ms`);
    }
    // The verifier drops it when its cache next expires (JWKS_CACHE_MAX_AGE, here 1 s).
    let verifierRefused = false;
    for (let waited = 0; waited < 10_000 && !verifierRefused; waited += 100) {
      verifierRefused = (await verify(oldToken)).status === 401;
      if (!verifierRefused) await sleep(100);
    }
    assert.ok(verifierRefused, "the verifier refuses the retired key after its cache expired");

    // Everything else keeps working after the retirement.
    const before = issued.length;
    for (let waited = 0; waited < 10_000 && issued.length < before + 4; waited += 100) {
      await sleep(100);
    }
    stopped = true;
    await loop;
    assert.ok(issued.length >= before + 4, "the client kept logging in after the retirement");
    assert.deepEqual(failures, [], "no valid token refused, by the verifier or by citadel");
    assert.ok(issued.length >= 20, `the client loop ran (${issued.length} logins)`);
    for (const lane of lanes) {
      assert.equal(await lane.servedBy(), lane.worker, "each connection stayed on its worker");
    }
  } finally {
    stopped = true;
    await loop?.catch(() => {});
    for (const lane of lanes) lane.close();
    await verifier.stop();
    await citadel.stop();
  }
});

Deno.test("README's verifier example is the code this test runs, verbatim", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.split("\n## Verifying citadel tokens in another service\n")[1];
  assert.ok(section, "README has the section");
  const block = /```ts\n([\s\S]*?)```/.exec(section.split("\n## ")[0])?.[1] ?? "";
  assert.ok(block.includes("createRemoteJWKSet(") && block.includes("jwtVerify("));
  assert.ok((await Deno.readTextFile(EXAMPLE)).includes(block), "the block is in the example");
});
