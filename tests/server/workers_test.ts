import assert from "node:assert/strict";
import { planWorkers } from "../../src/server/workers.ts";
import {
  type ServerProcess,
  startServer,
  tempDir,
  TEST_SECRET,
  testConfig,
} from "../support/helpers.ts";
import { STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";

const FAST = { ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" };

function env(dir: string): Record<string, string> {
  return {
    DATABASE_URL: `file:${dir}/workers.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    SUPER_ADMIN_PASSWORD: "Bootstrap-Harbor-Pass-91!",
    RATE_LIMIT_AUTH_PER_MINUTE: "1000",
    ...FAST,
  };
}

let requestCounter = 0;

/**
 * A client holding one keep-alive connection, so all its requests reach one worker.
 * Bodies are read to the end: a cancelled body would cost the connection.
 */
interface PinnedClient {
  worker: number;
  call(method: string, path: string, init?: { token?: string; body?: unknown }): Promise<Response>;
  close(): void;
}

/** Which worker logged the access line of a request id (lines arrive batched). */
async function workerOf(server: ServerProcess, requestId: string): Promise<number> {
  for (let waited = 0; waited < 3000; waited += 20) {
    const line = server.output.find((l) => l.includes(`"request_id":"${requestId}"`));
    const worker = line && /"worker":(\d+)/.exec(line)?.[1];
    if (worker) return Number(worker);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no access log line for ${requestId}:\n${server.output.join("\n")}`);
}

async function send(
  server: ServerProcess,
  client: Deno.HttpClient,
  method: string,
  path: string,
  init: { token?: string; body?: unknown } = {},
): Promise<{ response: Response; worker: Promise<number> }> {
  const requestId = `workers-test-${++requestCounter}`;
  const response = await fetch(`${server.url}${path}`, {
    method,
    client,
    headers: {
      "x-request-id": requestId,
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { response, worker: workerOf(server, requestId) };
}

/** Opens connections until one is served by each of workers 1 and 2. */
async function clientPerWorker(server: ServerProcess): Promise<Map<number, PinnedClient>> {
  const found = new Map<number, PinnedClient>();
  for (let attempt = 0; attempt < 60 && found.size < 2; attempt++) {
    const client = Deno.createHttpClient({ poolMaxIdlePerHost: 1 });
    const { response, worker } = await send(server, client, "GET", "/health");
    await response.arrayBuffer();
    const id = await worker;
    if (found.has(id)) {
      client.close();
      continue;
    }
    found.set(id, {
      worker: id,
      async call(method, path, init) {
        const sent = await send(server, client, method, path, init);
        assert.equal(await sent.worker, id, "the keep-alive connection stayed on its worker");
        return sent.response;
      },
      close: () => client.close(),
    });
  }
  assert.deepEqual([...found.keys()].sort(), [1, 2], "both workers accepted connections");
  return found;
}

/** Runs `body` against `serve --workers 2` with a registered user and a client per worker. */
async function withTwoWorkers(
  body: (a: PinnedClient, b: PinnedClient, email: string) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  const server = await startServer(env(dir.path), { cwd: dir.path, args: ["--workers", "2"] });
  const clients = await clientPerWorker(server);
  const [a, b] = [clients.get(1)!, clients.get(2)!];
  try {
    const email = uniqueEmail();
    const registered = await a.call("POST", "/api/v1/auth/register", {
      body: { email, password: STRONG_PASSWORD },
    });
    assert.equal(registered.status, 201);
    await registered.arrayBuffer();
    await body(a, b, email);
  } finally {
    a.close();
    b.close();
    await server.stop();
  }
}

Deno.test("serve --workers 2 runs two isolates on one port and both answer", async () => {
  await using dir = await tempDir();
  const server = await startServer(env(dir.path), { cwd: dir.path, args: ["--workers", "2"] });
  try {
    const listening = server.output.find((l) => l.includes('"msg":"listening"'));
    assert.match(listening ?? "", /"workers":2/);
    for (const id of [1, 2]) {
      assert.ok(
        server.output.some((l) =>
          l.includes('"msg":"worker listening"') && l.includes(`"worker":${id}`) &&
          l.includes(`"port":${server.port}`)
        ),
        `worker ${id} listens on ${server.port}`,
      );
    }
    assert.ok(
      server.output.some((l) => l.includes("share their counters through the database store")),
      "the memory counter store is replaced by the shared database store",
    );
    const clients = await clientPerWorker(server);
    for (const client of clients.values()) {
      const res = await client.call("GET", "/health");
      assert.equal(res.status, 200);
      assert.equal((await res.json()).database, "ok");
      client.close();
    }
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
  assert.ok(server.output.some((l) => l.includes('"msg":"stopped"')));
});

Deno.test("one scrape of /metrics through either worker counts the requests of both", async () => {
  await withTwoWorkers(async (a, b) => {
    const healthChecks = async (client: PinnedClient) => {
      const res = await client.call("GET", "/metrics");
      assert.equal(res.status, 200);
      const line =
        /^citadel_http_requests_total\{route="\/health",method="GET",status="200"\} (\d+)$/m
          .exec(await res.text());
      return Number(line?.[1] ?? 0);
    };
    const before = await healthChecks(a);
    for (const [client, times] of [[a, 7], [b, 5]] as const) {
      for (let i = 0; i < times; i++) await (await client.call("GET", "/health")).arrayBuffer();
    }
    assert.equal(await healthChecks(b), before + 12, "worker 2's scrape has worker 1's 7 too");
    assert.equal(await healthChecks(a), before + 12, "worker 1's scrape has worker 2's 5 too");
  });
});

Deno.test("a logout through one worker is refused by the other within 1 s", async () => {
  await withTwoWorkers(async (a, b, email) => {
    const credentials = { email, password: STRONG_PASSWORD };
    const tokens = await (await a.call("POST", "/api/v1/auth/login", { body: credentials })).json();
    const before = await b.call("GET", "/api/v1/me", { token: tokens.access_token });
    assert.equal(before.status, 200);
    await before.arrayBuffer();

    const logout = await a.call("POST", "/api/v1/auth/logout", { token: tokens.access_token });
    assert.equal(logout.status, 204);
    const loggedOutAt = performance.now();
    let refusedAfter = Infinity;
    while (performance.now() - loggedOutAt < 3000) {
      const res = await b.call("GET", "/api/v1/me", { token: tokens.access_token });
      await res.arrayBuffer();
      if (res.status === 401) {
        refusedAfter = performance.now() - loggedOutAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(refusedAfter <= 1000, `worker 2 refused the token after ${refusedAfter} ms`);
    const onA = await a.call("GET", "/api/v1/me", { token: tokens.access_token });
    assert.equal(onA.status, 401, "the worker that logged out refuses at once");
    await onA.arrayBuffer();
  });
});

Deno.test("the login guard counts wrong passwords sent to either worker: the 6th is refused by both", async () => {
  await withTwoWorkers(async (a, b, email) => {
    const wrong = { email, password: "not-the-password-123!" };
    // Five failures, split 3 / 2 over the workers: neither saw five on its own.
    for (const client of [a, b, a, b, a]) {
      const res = await client.call("POST", "/api/v1/auth/login", { body: wrong });
      assert.equal(res.status, 401);
      await res.arrayBuffer();
    }
    for (const client of [b, a]) {
      const res = await client.call("POST", "/api/v1/auth/login", {
        body: { email, password: STRONG_PASSWORD },
      });
      assert.equal(res.status, 429, `worker ${client.worker} refuses the locked pair`);
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      await res.arrayBuffer();
    }
  });
});

Deno.test("serve --workers rejects a count that is not a whole number", async () => {
  await using dir = await tempDir();
  const failed = await startServer(env(dir.path), { cwd: dir.path, args: ["--workers", "two"] })
    .then(() => "started", (error: Error) => error.message);
  assert.match(failed, /exited with 2/);
  assert.match(failed, /--workers must be a whole number/);
});

Deno.test("planWorkers() moves several workers to the shared database counter store", () => {
  const plan = planWorkers(testConfig({ DATABASE_URL: "file:./x.db", PORT: "8000" }), "3");
  assert.equal(plan.count, Deno.build.os === "linux" ? 3 : 1);
  if (Deno.build.os === "linux") {
    assert.equal(plan.config.rateLimit.store, "database");
    assert.match(
      plan.notes.join("\n"),
      /not the configured RATE_LIMIT_STORE=memory, which is per isolate.*survive restarts/,
    );
  }
});

Deno.test("planWorkers() keeps one worker for an in-memory database or an automatic count on PORT=0", () => {
  const memory = planWorkers(testConfig({ PORT: "8000" }), "2");
  assert.equal(memory.count, 1);
  assert.equal(memory.config.rateLimit.store, "memory");
  const randomPort = planWorkers(testConfig({ DATABASE_URL: "file:./x.db", PORT: "0" }), "0");
  assert.equal(randomPort.count, 1);
  if (navigator.hardwareConcurrency > 1) assert.match(randomPort.notes[0], /PORT=0/);
  const configured = planWorkers(
    testConfig({ DATABASE_URL: "file:./x.db", PORT: "0", WORKERS: "1" }),
    undefined,
  );
  assert.deepEqual([configured.count, configured.notes], [1, []]);
});

Deno.test("planWorkers() leaves a shared redis store alone", () => {
  const plan = planWorkers(
    testConfig({
      DATABASE_URL: "file:./x.db",
      PORT: "8000",
      RATE_LIMIT_STORE: "redis",
      REDIS_URL: "redis://127.0.0.1:6379",
    }),
    "2",
  );
  assert.equal(plan.config.rateLimit.store, "redis");
  assert.ok(!plan.notes.some((n) => n.includes("RATE_LIMIT_STORE")));
});
