/**
 * The import graph of citadel's own source, read as text: every static `import` and
 * `export ... from` (type-only ones included), every side-effect `import "..."`, every
 * dynamic `import("...")` with a literal specifier and every
 * `new URL("...", import.meta.url)` (how `new Worker` names its module). Only relative
 * specifiers are ours; npm and `node:` ones are left out. Comments are stripped first, so
 * an example in a doc comment is not an edge. Also finds the `Deno.*` runtime APIs a file
 * uses, for the rules on who may listen, spawn or read the environment.
 */
import { dirname, join, relative, resolve } from "node:path";

/** One file of the graph, by its path relative to the repository root. */
export interface SourceFile {
  path: string;
  /** Our files it imports, as repository-relative paths. */
  imports: string[];
  /** `Deno.<name>` members used outside comments (e.g. `env`, `serve`, `Command`). */
  denoApis: Set<string>;
  /** Whether it calls `fetch(...)` outside comments. */
  callsFetch: boolean;
}

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "../..");

const STATIC = /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm;
const SIDE_EFFECT = /^\s*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
const URL_OF_MODULE = /\bnew URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g;
const DENO_API = /\bDeno\.([A-Za-z_]\w*)/g;

/**
 * Code without comments: block comments that open a line (JSDoc and the like) and `//`
 * comments that open a line or follow white space (so `https://` in a string stays).
 */
export function stripComments(text: string): string {
  return text
    .replace(/^\s*\/\*[\s\S]*?\*\//gm, "")
    .replace(/(^|\s)\/\/.*$/gm, "$1");
}

/** The relative specifiers of a source text, in order of appearance, without duplicates. */
export function relativeSpecifiers(code: string): string[] {
  const found = new Set<string>();
  for (const pattern of [STATIC, SIDE_EFFECT, DYNAMIC, URL_OF_MODULE]) {
    for (const match of code.matchAll(pattern)) {
      if (match[1].startsWith("./") || match[1].startsWith("../")) found.add(match[1]);
    }
  }
  return [...found];
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (/\.(ts|tsx)$/.test(entry.name)) yield path;
  }
}

/** Reads every `.ts`/`.tsx` file under `dir` (repository-relative, e.g. `src`). */
export async function readImportGraph(dir: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for await (const absolute of walk(join(ROOT, dir))) {
    const code = stripComments(await Deno.readTextFile(absolute));
    const imports = relativeSpecifiers(code).map((specifier) =>
      relative(ROOT, resolve(dirname(absolute), specifier))
    );
    const denoApis = new Set([...code.matchAll(DENO_API)].map((match) => match[1]));
    const callsFetch = /\bfetch\s*\(/.test(code);
    files.push({ path: relative(ROOT, absolute), imports, denoApis, callsFetch });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Every cycle between files: the strongly connected components of more than one file. */
export function findCycles(files: readonly SourceFile[]): string[][] {
  const edges = new Map(files.map((f) => [f.path, f.imports]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of edges.get(node) ?? []) {
      if (!edges.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    const selfLoop = edges.get(node)!.includes(node);
    if (component.length > 1 || selfLoop) cycles.push(component.sort());
  };
  for (const file of files) if (!index.has(file.path)) visit(file.path);
  return cycles;
}
