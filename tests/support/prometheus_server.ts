/**
 * Debian's Prometheus for the system tests: the `prometheus` server on a free loopback port
 * with a given configuration and a throwaway TSDB, its HTTP query API, and `promtool`. Both
 * come from the `prometheus` package (.ci/run installs it); a test that needs them fails with
 * the install hint when they are missing, it never skips.
 */
import { type SpawnedServer, spawnServer } from "./spawned_server.ts";

const INSTALL_HINT = "install Debian's prometheus package (it brings promtool): " +
  "apt-get install -y prometheus (.ci/run does)";

/** One series of an instant query's answer. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** A running Prometheus. */
export interface PrometheusServer {
  url: string;
  /** Every line it logged so far. */
  output: string[];
  /** Answers an instant query (`/api/v1/query`) as numbers; throws on an API error. */
  query(expr: string): Promise<Sample[]>;
  /** GETs an API path (e.g. `/api/v1/rules`) and answers its `data`. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Throws with the install hint unless `prometheus` and `promtool` run. */
export async function requirePrometheus(): Promise<void> {
  for (const tool of ["prometheus", "promtool"]) {
    try {
      const { success } = await new Deno.Command(tool, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (success) continue;
    } catch { /* not installed: the hint below */ }
    throw new Error(`${tool} is missing: ${INSTALL_HINT}`);
  }
}

/** Runs promtool with arguments (and standard input), answering its exit code and output. */
export async function promtool(
  args: string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

/**
 * Starts `prometheus` on the configuration file `configFile` (relative paths in it are read
 * from its directory), storing into `dir/tsdb`, and waits until it serves queries.
 */
export async function startPrometheus(configFile: string, dir: string): Promise<PrometheusServer> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  let server: SpawnedServer;
  try {
    server = await spawnServer(
      "prometheus",
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dir}/tsdb`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=info",
      ],
      /Server is ready to receive web requests/,
      { timeoutMs: 20_000 },
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`prometheus: ${INSTALL_HINT}`);
    throw error;
  }
  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}${path}`);
    const body = await res.json();
    if (body.status !== "success") throw new Error(`${path}: ${JSON.stringify(body)}`);
    return body.data as T;
  }
  return {
    url,
    output: server.output,
    api,
    async query(expr) {
      const data = await api<{ resultType: string; result: unknown[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      if (data.resultType !== "vector") throw new Error(`${expr}: a ${data.resultType}`);
      return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>)
        .map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async stop() {
      await server.stop("SIGTERM");
    },
  };
}
