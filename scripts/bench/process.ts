/**
 * Server processes for `deno task bench`: started pinned to a core, timed from spawn to
 * the first 200 response, RSS sampled with `ps`.
 * @module
 */

/** A started server process. */
export interface BenchProcess {
  name: string;
  pid: number;
  url: string;
  /** Milliseconds from spawn to the first 200 answer of the readiness path. */
  startupMs: number;
  /** Resident set size in MiB, undefined where `ps` is missing. */
  rssMiB(): Promise<number | undefined>;
  /** CPU time (user + system, all threads) the process has used so far, in seconds. */
  cpuSeconds(): Promise<number | undefined>;
  /** Samples RSS every 100 ms until the returned function is called; it resolves the peak. */
  sampleRss(): () => Promise<number | undefined>;
  /** Whatever the process wrote to stderr. */
  stderr(): string;
  stop(): Promise<void>;
}

/** How to start a server. */
export interface StartSpec {
  name: string;
  args: string[];
  port: number;
  env?: Record<string, string>;
  /** `taskset -c <cpu>`, when taskset exists. */
  cpu?: string;
  /** Where `ps` runs to sample RSS (the load generator's core). */
  samplerCpu?: string;
  /** Answered with 200 once the server is ready. */
  readyPath?: string;
  cwd?: string;
}

/**
 * VmRSS of a process in MiB, through `ps` (Deno asks for every permission to read /proc), pinned
 * to `cpu` when given so sampling stays off the server's core.
 */
export async function readRssMiB(pid: number, cpu?: string): Promise<number | undefined> {
  const ps = ["ps", "-o", "rss=", "-p", String(pid)];
  try {
    const [command, ...args] = cpu === undefined ? ps : ["taskset", "-c", cpu, ...ps];
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" })
      .output();
    const kib = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && kib > 0 ? kib / 1024 : undefined;
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;

/** utime + stime of /proc/<pid>/stat, read through `cat` (Deno asks for every permission to read /proc). */
export async function readCpuSeconds(pid: number): Promise<number | undefined> {
  const run = async (command: string, args: string[]) => {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  };
  try {
    ticksPerSecond ??= Number(await run("getconf", ["CLK_TCK"])) || 100;
    const stat = await run("cat", [`/proc/${pid}/stat`]);
    if (!stat) return undefined;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

async function waitReady(url: string, child: Deno.ChildProcess, timeoutMs: number) {
  let exited = false;
  void child.status.then(() => exited = true);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !exited) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(exited ? "the server exited" : `no 200 from ${url} within ${timeoutMs} ms`);
}

/** Starts a server process and waits until `readyPath` answers 200. */
export async function startProcess(spec: StartSpec): Promise<BenchProcess> {
  const [command, args] = spec.cpu === undefined
    ? [Deno.execPath(), spec.args]
    : ["taskset", ["-c", spec.cpu, Deno.execPath(), ...spec.args]];
  const spawned = performance.now();
  const child = new Deno.Command(command, {
    args,
    env: { NO_COLOR: "1", ...spec.env },
    cwd: spec.cwd,
    stdin: "null",
    // The access log also goes to stdout; a supervisor would read it, here it is dropped.
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let errors = "";
  void (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      errors = (errors + chunk).slice(-20_000);
    }
  })().catch(() => {});
  const url = `http://127.0.0.1:${spec.port}`;
  try {
    await waitReady(`${url}${spec.readyPath ?? "/"}`, child, 30_000);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    throw new Error(`${spec.name} did not start: ${(error as Error).message}\n${errors}`);
  }
  const startupMs = performance.now() - spawned;
  const pid = child.pid;
  return {
    name: spec.name,
    pid,
    url,
    startupMs,
    rssMiB: () => readRssMiB(pid, spec.samplerCpu),
    cpuSeconds: () => readCpuSeconds(pid),
    sampleRss() {
      let peak: number | undefined;
      const sample = async () => {
        const rss = await readRssMiB(pid, spec.samplerCpu);
        if (rss !== undefined) peak = Math.max(peak ?? 0, rss);
      };
      void sample();
      const timer = setInterval(sample, 100);
      return async () => {
        clearInterval(timer);
        await sample();
        return peak;
      };
    },
    stderr: () => errors,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 15_000);
      await child.status;
      clearTimeout(timer);
    },
  };
}

/** A free loopback TCP port (bound and released; fine on a quiet benchmark host). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
