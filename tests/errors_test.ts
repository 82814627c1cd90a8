import assert from "node:assert/strict";
import { problem, PROBLEM_STATUS, problemBody } from "../src/errors.ts";

const SRC = new URL("../src/", import.meta.url);

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

Deno.test("problem() answers each code with the status PROBLEM_STATUS gives it", () => {
  for (const [code, status] of Object.entries(PROBLEM_STATUS)) {
    const body = problemBody(problem(code as keyof typeof PROBLEM_STATUS, { detail: "x" }));
    assert.equal(body.status, status, code);
    assert.equal(body.code, code);
  }
});

Deno.test("statuses are chosen only in errors.ts: no other file builds an AppError with a status", async () => {
  // The HTTP edge's translation of Hono's own HTTPException keeps that exception's status.
  const allowed = new Set(["errors.ts", "middleware/errors.ts"]);
  const offenders: string[] = [];
  for await (const file of sourceFiles(SRC)) {
    const path = file.pathname.slice(SRC.pathname.length);
    if (allowed.has(path)) continue;
    const text = await Deno.readTextFile(file);
    if (/new AppError\(/.test(text)) offenders.push(path);
  }
  assert.deepEqual(offenders, [], "raise problems with problem(code) instead");
});
