/**
 * Summarises a V8 `.cpuprofile` (from `deno task bench --cpu-prof DIR`): self time by
 * function and by source (package or file), and total (inclusive) time of the functions
 * whose names match `--focus`. `--busy` keeps only the seconds in which JavaScript ran
 * at least 30% of the time (the load, not the pauses between scenarios) and reports how
 * much of those seconds the isolate was idle, i.e. waiting while Rust (HTTP, I/O) and
 * the kernel worked.
 *
 *   deno run --allow-read scripts/bench/cpuprof_summary.ts FILE [--top 30] [--focus regex] [--busy]
 */
import { parseArgs } from "node:util";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    top: { type: "string", default: "30" },
    focus: { type: "string" },
    busy: { type: "boolean", default: false },
  },
});
const profile: Profile = JSON.parse(await Deno.readTextFile(positionals[0]));
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const idleIds = new Set(
  profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id),
);
// Per second of the profile: [busy, idle] microseconds, to find the seconds under load.
const seconds = new Map<number, [number, number]>();
let clock = 0;
const stamps = profile.samples.map((id, i) => {
  clock += profile.timeDeltas[i] ?? 0;
  const second = Math.floor(clock / 1e6);
  const bucket = seconds.get(second) ?? [0, 0];
  bucket[idleIds.has(id) ? 1 : 0] += profile.timeDeltas[i] ?? 0;
  seconds.set(second, bucket);
  return second;
});
const loaded = (second: number) => {
  const [busy, idle] = seconds.get(second)!;
  return busy / (busy + idle) >= 0.3;
};
const self = new Map<number, number>();
let total = 0;
let idleInWindow = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  if (values.busy && !loaded(stamps[i])) return;
  if (values.busy && idleIds.has(id)) {
    idleInWindow += dt;
    return;
  }
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});

function source(url: string): string {
  const pkg = /node_modules\/(?:\.deno\/)?((?:@[^/]+\/)?[^/@]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  const local = /\/(src|scripts)\/(.+)$/.exec(url);
  if (local) return `${local[1]}/${local[2]}`;
  return url === "" ? "(native/runtime)" : url.replace(/^.*\/ext:/, "ext:");
}

const label = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${source(n.callFrame.url)}:${
    n.callFrame.lineNumber + 1
  }`;

function table(title: string, map: Map<string, number>) {
  console.log(`\n${title}`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / total * 100).toFixed(1).padStart(6)}%  ${name}`);
  }
}

const fnSelf = new Map<string, number>();
const srcSelf = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  fnSelf.set(label(n), (fnSelf.get(label(n)) ?? 0) + us);
  const src = source(n.callFrame.url);
  srcSelf.set(src, (srcSelf.get(src) ?? 0) + us);
}
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
if (values.busy) {
  const window = [...seconds.keys()].filter(loaded).length;
  console.log(
    `${window} loaded seconds; isolate idle ${
      (idleInWindow / (idleInWindow + total) * 100).toFixed(1)
    }% of them (Rust/kernel time); percentages below are of the JavaScript time`,
  );
}
table("self time by source", srcSelf);
table("self time by function", fnSelf);

if (values.focus) {
  // Inclusive time: each sample counts once for every distinct matching frame above it.
  const focus = new RegExp(values.focus);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!;
      const name = label(n);
      if (focus.test(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
    }
  }
  table(`total time of frames matching /${values.focus}/`, inclusive);
}
