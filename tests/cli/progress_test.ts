import assert from "node:assert/strict";
import { confirm } from "../../src/cli/confirm.ts";
import { ExitError } from "../../src/lib/exit_error.ts";
import { progressReporter } from "../../src/cli/progress.ts";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => t += ms };
}

Deno.test("progressReporter() draws a bar with rows per second and ETA on a terminal", () => {
  const out: string[] = [];
  const c = clock();
  const bar = progressReporter({ terminal: true, write: (s) => out.push(s), now: c.now });
  c.advance(2000);
  bar.update({ phase: "copy", table: "posts", done: 500, total: 1000 });
  bar.finish();
  assert.equal(
    out[0],
    "\r\x1b[2K[###############---------------]  50% 500/1000 rows  250 rows/s  ETA 2s  copy posts",
  );
  assert.equal(out[1], "\n");
});

Deno.test("progressReporter() writes plain lines on phase changes and every few seconds elsewhere", () => {
  const out: string[] = [];
  const c = clock();
  const lines = progressReporter({ terminal: false, write: (s) => out.push(s), now: c.now });
  c.advance(1000);
  lines.update({ phase: "map", table: "users", done: 100, total: 1000 });
  c.advance(500);
  lines.update({ phase: "map", table: "users", done: 200, total: 1000 });
  lines.update({ phase: "copy", table: "users", done: 200, total: 1000 });
  c.advance(2500);
  lines.update({ phase: "copy", table: "users", done: 600, total: 1000 });
  lines.finish();
  assert.deepEqual(out, [
    "map users: 10% 100/1000 rows  100 rows/s  ETA 9s\n",
    "copy users: 20% 200/1000 rows  133 rows/s  ETA 6s\n",
    "copy users: 60% 600/1000 rows  150 rows/s  ETA 3s\n",
  ]);
});

Deno.test("progressReporter() counts in the unit it is given, e.g. fields for keys reencrypt", () => {
  const out: string[] = [];
  const c = clock();
  const lines = progressReporter({
    terminal: false,
    write: (s) => out.push(s),
    now: c.now,
    unit: "fields",
  });
  c.advance(1000);
  lines.update({ phase: "reencrypt", done: 3, total: 4 });
  lines.finish();
  assert.deepEqual(out, ["reencrypt: 75% 3/4 fields  3 fields/s  ETA 0s\n"]);
});

Deno.test("confirm() asks on a terminal and refuses without one unless --yes", () => {
  assert.equal(confirm("Go?", { yes: true, interactive: false }), true);
  assert.equal(confirm("Go?", { yes: false, interactive: true, ask: () => "yes" }), true);
  assert.equal(confirm("Go?", { yes: false, interactive: true, ask: () => "n" }), false);
  assert.equal(confirm("Go?", { yes: false, interactive: true, ask: () => null }), false);
  assert.throws(
    () => confirm("Go?", { yes: false, interactive: false }),
    (e) => e instanceof ExitError && e.exitCode === 2 && /pass --yes/.test(e.message),
  );
});
