import assert from "node:assert/strict";
import { openLogFileSink } from "../../src/platform/log_file_sink.ts";
import { createLogger } from "../../src/platform/logger.ts";
import { tempDir } from "../support/helpers.ts";

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

function line(n: number): string {
  return JSON.stringify({ n, msg: "x".repeat(180) }) + "\n";
}

Deno.test("openLogFileSink() creates LOG_DIR with mode 700 and citadel.log with mode 600", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/logs/nested`;
  const sink = await openLogFileSink({ dir, maxBytes: 1 << 20, backups: 5 });
  await sink.write(line(1));
  await sink.close();
  assert.equal(sink.path, `${dir}/citadel.log`);
  assert.equal(await mode(dir), 0o700);
  assert.equal(await mode(sink.path), 0o600);
  assert.deepEqual(sink.warnings, []);
  assert.equal(await Deno.readTextFile(sink.path), line(1));
});

Deno.test("openLogFileSink() tightens a wider directory and file and says so", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/logs`;
  await Deno.mkdir(dir);
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/citadel.log`, line(0));
  await Deno.chmod(`${dir}/citadel.log`, 0o644);
  const sink = await openLogFileSink({ dir, maxBytes: 1 << 20, backups: 5 });
  await sink.write(line(1));
  await sink.close();
  assert.equal(await mode(dir), 0o700);
  assert.equal(await mode(`${dir}/citadel.log`), 0o600);
  assert.equal(sink.warnings.length, 2);
  assert.match(sink.warnings[0], /had mode 755; changed to 700/);
  assert.match(sink.warnings[1], /citadel\.log had mode 644; changed to 600/);
  assert.equal(await Deno.readTextFile(`${dir}/citadel.log`), line(0) + line(1));
});

Deno.test("rotation keeps at most backups + 1 files, each mode 600 and within maxBytes", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/logs`;
  const maxBytes = 1024;
  const sink = await openLogFileSink({ dir, maxBytes, backups: 5 });
  for (let n = 1; n <= 100; n++) await sink.write(line(n));
  await sink.close();

  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assert.deepEqual(names.sort(), [
    "citadel.log",
    "citadel.log.1",
    "citadel.log.2",
    "citadel.log.3",
    "citadel.log.4",
    "citadel.log.5",
  ]);
  const numbers = async (name: string) =>
    (await Deno.readTextFile(`${dir}/${name}`)).trim().split("\n").map((l) => JSON.parse(l).n);
  for (const name of names) {
    assert.equal(await mode(`${dir}/${name}`), 0o600, name);
    assert.ok((await Deno.stat(`${dir}/${name}`)).size <= maxBytes, name);
  }
  // Newest in citadel.log, then .1, .2 ... with no line lost between neighbours.
  const current = await numbers("citadel.log");
  assert.equal(current.at(-1), 100);
  const previous = await numbers("citadel.log.1");
  assert.equal(previous.at(-1)! + 1, current[0]);
  const oldest = await numbers("citadel.log.5");
  assert.ok(oldest[0] > 1, "the oldest lines were dropped");
});

Deno.test("openLogFileSink() removes backups beyond a lowered LOG_BACKUPS", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/logs`;
  await Deno.mkdir(dir, { mode: 0o700 });
  for (const n of [1, 2, 3, 7]) await Deno.writeTextFile(`${dir}/citadel.log.${n}`, line(n));
  await Deno.writeTextFile(`${dir}/other.log.9`, "kept\n");
  const sink = await openLogFileSink({ dir, maxBytes: 1 << 20, backups: 2 });
  await sink.close();
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assert.deepEqual(names.sort(), ["citadel.log", "citadel.log.1", "citadel.log.2", "other.log.9"]);
});

Deno.test("the logger writes batched JSON lines through the file sink", async () => {
  await using tmp = await tempDir();
  const sink = await openLogFileSink({ dir: tmp.path, maxBytes: 1 << 20, backups: 1 });
  const logger = createLogger({ level: "info", sinks: [sink], flushIntervalMs: 5 });
  logger.info("first", { request_id: "r1" });
  logger.debug("dropped below the level");
  logger.warn("second");
  await logger.close();
  const lines = (await Deno.readTextFile(sink.path)).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [["info", "first"], ["warn", "second"]]);
  assert.equal(lines[0].request_id, "r1");
});
