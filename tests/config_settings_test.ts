/**
 * README's configuration table and the setting declarations (src/config_settings.ts)
 * must agree: the same variables, the same defaults, the same descriptions.
 */
import assert from "node:assert/strict";
import { configSettings, parseConfig } from "../src/config.ts";
import { defaultOf, type PlacedSetting } from "../src/config_declaration.ts";

interface ReadmeRow {
  cells: string[];
  line: number;
}

/** The rows of the first table under README's `## Configuration` heading. */
async function readmeRows(): Promise<ReadmeRow[]> {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const lines = readme.split("\n");
  const start = lines.findIndex((l) => l.trim() === "## Configuration");
  assert.ok(start >= 0, "README has no ## Configuration section");
  const rows: ReadmeRow[] = [];
  for (let i = start + 1; i < lines.length && !lines[i].startsWith("#"); i++) {
    const line = lines[i].trim();
    if (!line.startsWith("|")) {
      if (rows.length > 0) break;
      continue;
    }
    const cells = line.slice(1, -1).split("|").map((c) => c.trim());
    rows.push({ cells, line: i + 1 });
  }
  // Header and separator first.
  assert.deepEqual(rows[0]?.cells, ["variable", "default", "effect"]);
  return rows.slice(2);
}

const UNSET = new Set(["", "–", "—", "-", "unset", "none"]);

/** A README default as plain text: no backticks, no "(30 days)" remark, "" for unset. */
function normalise(cell: string): string {
  let text = cell.replaceAll("`", "").replace(/\s*\([^()]*\)$/, "").trim();
  if (UNSET.has(text.toLowerCase())) text = "";
  return /^\d[\d_]*$/.test(text) ? text.replaceAll("_", "") : text;
}

/** What README's default column must say for a declaration. */
function documentedDefault(declaration: PlacedSetting): string {
  const value = defaultOf(declaration);
  const unset = value === undefined || value === "" ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === "object" && value !== null && Object.keys(value).length === 0);
  if (unset) return normalise(declaration.unsetMeans ?? "");
  return Array.isArray(value) ? value.join(",") : String(value);
}

function rowFor(declaration: PlacedSetting): string {
  const value = documentedDefault(declaration);
  const shown = value === "" ? declaration.unsetMeans ?? "–" : `\`${value}\``;
  return `| \`${declaration.variable}\` | ${shown} | ${declaration.description} |`;
}

Deno.test("README's configuration table lists every declared setting and nothing else", async () => {
  const declared = new Map(configSettings().map((s) => [s.variable, s]));
  const documented = new Set<string>();
  for (const { cells, line } of await readmeRows()) {
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0])?.[1];
    assert.ok(name, `README.md:${line}: the first cell must name exactly one variable`);
    assert.ok(!documented.has(name), `README.md:${line}: ${name} is listed twice`);
    assert.ok(declared.has(name), `README.md:${line}: ${name} is declared nowhere in src/`);
    documented.add(name);
  }
  const missing = [...declared.values()].filter((s) => !documented.has(s.variable));
  assert.deepEqual(
    missing.map(rowFor),
    [],
    "settings missing from README's configuration table (add these rows)",
  );
});

Deno.test("README's configuration table states each setting's declared default and effect", async () => {
  const declared = new Map(configSettings().map((s) => [s.variable, s]));
  const disagreements: string[] = [];
  for (const { cells: [name, shown, effect], line } of await readmeRows()) {
    const declaration = declared.get(name.replaceAll("`", ""));
    if (!declaration) continue; // reported by the test above
    const where = `README.md:${line}: ${declaration.variable}`;
    const expected = documentedDefault(declaration);
    if (normalise(shown) !== expected) {
      disagreements.push(`${where} default is ${shown}, declared ${expected || "unset"}`);
    }
    if (effect !== declaration.description) {
      disagreements.push(`${where} effect is "${effect}", declared "${declaration.description}"`);
    }
  }
  assert.deepEqual(disagreements, [], "README's table and src/config_settings.ts disagree");
});

Deno.test("each setting is declared once and fills its config path with its default", () => {
  const config = parseConfig({});
  const seen = new Set<string>();
  for (const declaration of configSettings()) {
    assert.ok(!seen.has(declaration.variable), `${declaration.variable} is declared twice`);
    seen.add(declaration.variable);
    const value = declaration.path.split(".").reduce<unknown>(
      (node, key) => (node as Record<string, unknown>)[key],
      config,
    );
    assert.deepEqual(value, defaultOf(declaration), declaration.path);
  }
});
