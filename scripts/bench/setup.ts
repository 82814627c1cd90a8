/**
 * The servers of `deno task bench`: citadel with a production configuration, the bare
 * baselines, the argon2id probe, and what the report says about the machine.
 */
import { OWASP_ARGON2 } from "../../src/platform/password_hasher.ts";
import { type BenchProcess, freePort, startProcess } from "./process.ts";

const here = (path: string) => new URL(path, import.meta.url).pathname;
const RUN = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
];

/** Where servers and the load generator run (`taskset -c`), when they are pinned. */
export interface Placement {
  serverCpu?: string;
  loadCpu?: string;
}

function randomBase64(bytes: number): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}

/**
 * Production settings: every guard on, limits too high to refuse, argon2id at OWASP cost.
 * Variables named BENCH_CITADEL_* override them (e.g. BENCH_CITADEL_RATE_LIMIT_ENABLED=false).
 */
export function citadelEnv(dir: string, port: number): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    APP_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATABASE_URL: `file:${dir}/citadel.db`,
    LOG_DIR: `${dir}/logs`,
    JWT_SECRET_KEY: secrets.jwt,
    HASH_PEPPER: secrets.pepper,
    // wrk and fetch send Host: 127.0.0.1:<port>; the host guard compares the name.
    ALLOWED_HOSTS: "127.0.0.1",
    CORS_ORIGINS: "https://app.example.com",
    ALLOW_INSECURE_HTTP: "true",
    SUPER_ADMIN_USERNAME: "admin@example.com",
    SUPER_ADMIN_PASSWORD: "Copper-Falcon-4vX9-qR7t-Lm2p",
    RATE_LIMIT_ENABLED: "true",
    RATE_LIMIT_STORE: "memory",
    // Counted on every request, but high enough never to refuse one.
    RATE_LIMIT_AUTH_PER_MINUTE: "1000000000",
    RATE_LIMIT_AUTH_PER_HOUR: "1000000000",
    RATE_LIMIT_AUTH_PER_DAY: "1000000000",
    RATE_LIMIT_API_PER_MINUTE: "1000000000",
    API_KEY_RATE_LIMIT_PER_MINUTE: "1000000000",
    ARGON2_MEMORY_KIB: String(OWASP_ARGON2.memoryKib),
    ARGON2_TIME_COST: String(OWASP_ARGON2.timeCost),
    ARGON2_PARALLELISM: String(OWASP_ARGON2.parallelism),
    ...overrides(),
  };
}

/** `BENCH_CITADEL_X=v` in the bench's environment sets `X=v` for the server (A/B runs). */
function overrides(): Record<string, string> {
  const prefix = "BENCH_CITADEL_";
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

const secrets = { jwt: randomBase64(48), pepper: randomBase64(32) };

/** Options of {@linkcode startCitadel}. */
export interface CitadelOptions {
  dir: string;
  workers: number;
  /** Pinned core, or undefined for all cores. */
  cpu?: string;
  samplerCpu?: string;
  /** `--cpu-prof-dir` for the server's V8 profile. */
  profileDir?: string;
  /** Settings on top of the production ones, e.g. JWT_ALGORITHM=EdDSA. */
  env?: Record<string, string>;
}

/** What a server with asymmetric signing needs besides the production settings. */
export function asymmetricEnv(algorithm: "EdDSA" | "ES256"): Record<string, string> {
  return { JWT_ALGORITHM: algorithm, ENCRYPTION_KEY: randomBase64(32) };
}

/** Starts `deno run src/main.ts serve --workers N` in `dir` and waits for /health. */
export async function startCitadel(name: string, options: CitadelOptions): Promise<BenchProcess> {
  const port = freePort();
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  return await startProcess({
    name,
    args: [
      "run",
      ...RUN,
      ...profile,
      here("../../src/main.ts"),
      "serve",
      "--workers",
      String(options.workers),
    ],
    port,
    env: { ...citadelEnv(options.dir, port), ...options.env },
    cpu: options.cpu,
    samplerCpu: options.samplerCpu,
    readyPath: "/health",
    cwd: options.dir,
  });
}

/** Starts one of the baseline scripts under scripts/bench/ with its extra arguments. */
export async function startBaseline(
  name: string,
  script: string,
  place: Placement,
  extra: string[] = [],
): Promise<BenchProcess> {
  const port = freePort();
  return await startProcess({
    name,
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      here(script),
      String(port),
      ...extra,
    ],
    port,
    cpu: place.serverCpu,
    samplerCpu: place.loadCpu,
  });
}

/** What scripts/bench/argon2_probe.ts measured. */
export interface Argon2Probe {
  /** Median of one verification at a time, ms. */
  medianMs: number;
  /** Verifications per second with one per CPU side by side. */
  parallelPerSecond: number;
  threads: number;
}

/** Runs the argon2id probe at the OWASP parameters, on `cpu` or on all cores. */
export async function probeArgon2(cpu?: string): Promise<Argon2Probe> {
  const { memoryKib, timeCost, parallelism } = OWASP_ARGON2;
  const args = [
    "run",
    "--allow-read",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    here("argon2_probe.ts"),
    String(memoryKib),
    String(timeCost),
    String(parallelism),
  ];
  const [command, full] = cpu === undefined
    ? [Deno.execPath(), args]
    : ["taskset", ["-c", cpu, Deno.execPath(), ...args]];
  const out = await new Deno.Command(command, { args: full, stdout: "piped" }).output();
  if (!out.success) throw new Error("the argon2 probe failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** `m=19456 KiB, t=2, p=1`. */
export function argon2Params(): string {
  const { memoryKib, timeCost, parallelism } = OWASP_ARGON2;
  return `m=${memoryKib} KiB, t=${timeCost}, p=${parallelism}`;
}

/** CPU model, cores and OS, for the report. */
export async function machine(): Promise<string> {
  const cores = navigator.hardwareConcurrency;
  let model: string | undefined;
  try {
    // Through grep: Deno asks for every permission to read /proc itself.
    const out = await new Deno.Command("grep", {
      args: ["-m1", "model name", "/proc/cpuinfo"],
      stdout: "piped",
      stderr: "null",
    }).output();
    model = /:\s*(.+)$/.exec(new TextDecoder().decode(out.stdout).trim())?.[1];
  } catch { /* no grep or no /proc */ }
  return `${model ?? Deno.build.arch}, ${cores} cores, ${Deno.build.os}`;
}
