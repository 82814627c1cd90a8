/**
 * README's findings table (under "## `citadel check`") and the check registry must agree:
 * one row per check, in registry order, with the check's severity.
 */
import assert from "node:assert/strict";
import { CHECKS } from "../../../src/tools/check/registry.ts";

/** `CIT-NNN severity` of each row of README's findings table, in order. */
async function readmeFindings(): Promise<string[]> {
  const readme = await Deno.readTextFile(new URL("../../../README.md", import.meta.url));
  const start = readme.indexOf("\n## `citadel check`");
  assert.ok(start >= 0, "README has no ## `citadel check` section");
  const section = readme.slice(start + 1).split(/\n## /)[0];
  return [...section.matchAll(/^\|\s*(CIT-\d{3})\s*\|\s*(\w+)\s*\|/gm)]
    .map((match) => `${match[1]} ${match[2]}`);
}

Deno.test("README's findings table lists every check, in registry order, with its severity", async () => {
  assert.deepEqual(await readmeFindings(), CHECKS.map((check) => `${check.id} ${check.severity}`));
});
