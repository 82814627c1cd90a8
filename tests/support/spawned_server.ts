/** Long-running child processes for the deploy-target tests, and small HTTP helpers. */

/** A child process that printed the line it was waited for. */
export interface SpawnedServer {
  /** The match of the ready pattern; group 1 is usually the port or URL. */
  ready: RegExpExecArray;
  /** Every line it printed so far, stdout and stderr. */
  output: string[];
  process: Deno.ChildProcess;
  /** Sends a signal (SIGTERM by default) and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Options of {@linkcode spawnServer}. */
export interface SpawnOptions {
  env?: Record<string, string>;
  /** Start from an empty environment (plus PATH) instead of inheriting this one. */
  clearEnv?: boolean;
  cwd?: string;
  timeoutMs?: number;
}

/** Spawns a process and resolves once a line of its output matches `ready`. */
export async function spawnServer(
  command: string,
  args: string[],
  ready: RegExp,
  options: SpawnOptions = {},
): Promise<SpawnedServer> {
  const child = new Deno.Command(command, {
    args,
    env: options.clearEnv
      ? { PATH: Deno.env.get("PATH") ?? "", ...options.env }
      : { ...options.env },
    clearEnv: options.clearEnv,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} did not become ready:\n${output.join("\n")}`)),
      options.timeoutMs ?? 60_000,
    );
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      let pending = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          output.push(line);
          const found = ready.exec(line);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          }
        }
      }
    };
    void pump(child.stdout).catch(() => {});
    void pump(child.stderr).catch(() => {});
    void child.status.then((s) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${s.code}:\n${output.join("\n")}`));
    });
  });
  return {
    ready: match,
    output,
    process: child,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      return await child.status;
    },
  };
}

/** Waits for a matching output line; log lines are written in batches, after responses. */
export async function waitForLine(output: string[], pattern: RegExp): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const line = output.find((l) => pattern.test(l));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no line matching ${pattern}:\n${output.join("\n")}`);
}

/** POSTs a JSON body. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}
