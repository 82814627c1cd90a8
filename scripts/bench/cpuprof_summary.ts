/**
 * Summarises a V8 `.cpuprofile` (from `deno task bench --cpu-prof DIR`): self time by
 * function and by source (package or file), and total (inclusive) time of the functions
 * whose names match `--focus`.
 *
 *   deno run --allow-read scripts/bench/cpuprof_summary.ts FILE [--top 30] [--focus regex]
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
  options: { top: { type: "string", default: "30" }, focus: { type: "string" } },
});
const profile: Profile = JSON.parse(await Deno.readTextFile(positionals[0]));
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
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
