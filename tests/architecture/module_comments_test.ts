/**
 * Every source file opens with a module comment that says what it owns (README,
 * Development): the file's first token is a `/** ... *\/` block that stands apart from the
 * first declaration: it comes right before the imports, or a blank line follows it, or it
 * carries `@module` (which `deno doc` needs to see it as the module's). Covers `src/`,
 * `migrations/` and `scripts/`.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "../..");
const DIRS = ["src", "migrations", "scripts"];
const SKIPPED_DIRS = new Set(["node_modules", "dist"]);

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) yield* sourceFiles(path);
    else if (entry.isFile && /\.(ts|tsx)$/.test(entry.name)) yield path;
  }
}

/** Whether a source text opens with a module comment; see the rule at the top. */
function hasModuleComment(text: string): boolean {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!match) return false;
  const words = match[1].replace(/^\s*\*/gm, "").replace(/@module\b/, "").trim();
  if (words.length === 0) return false;
  if (/@module\b/.test(match[1])) return true;
  const after = text.slice(match[0].length);
  if (/^[ \t]*\r?\n[ \t]*\r?\n/.test(after)) return true;
  return /^import\b/.test(after.replace(/^(?:\s+|\/\/[^\n]*)+/, ""));
}

Deno.test("hasModuleComment() tells a module comment from a declaration's doc", () => {
  const cases: Array<[string, string, boolean]> = [
    ["before the imports", `/**\n * Owns x.\n */\nimport { y } from "./y.ts";\n`, true],
    [
      "before a lint directive and imports",
      `/** Owns x. */\n// deno-lint-ignore-file\nimport "./y.ts";\n`,
      true,
    ],
    [
      "tagged, before a declaration",
      `/**\n * Owns x.\n * @module\n */\n\nexport const x = 1;\n`,
      true,
    ],
    ["a declaration's doc", `/** The x. */\nexport const x = 1;\n`, false],
    ["followed by a blank line", `/** Owns x. */\n\nconst y = 2;\nexport const x = y;\n`, true],
    ["an empty tagged block", `/** @module */\nexport const x = 1;\n`, false],
    ["a line comment first", `// Owns x.\n/** Owns x. */\nimport "./y.ts";\n`, false],
    ["no comment", `import "./y.ts";\n`, false],
  ];
  for (const [name, text, expected] of cases) assert.equal(hasModuleComment(text), expected, name);
});

Deno.test("every file of src/, migrations/ and scripts/ opens with a module comment", async () => {
  const missing: string[] = [];
  let count = 0;
  for (const dir of DIRS) {
    for await (const path of sourceFiles(join(ROOT, dir))) {
      count++;
      if (!hasModuleComment(await Deno.readTextFile(path))) missing.push(relative(ROOT, path));
    }
  }
  assert.ok(count > 150, "the walk found the source files");
  assert.deepEqual(missing.sort(), [], "files without a leading module comment");
});
