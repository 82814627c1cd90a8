import assert from "node:assert/strict";
import { COMMANDS, FORMS, synopsis } from "../../src/cli/commands.ts";
import { runCli, tempDir } from "../support/helpers.ts";

/** Positional arguments a form needs before a stray one is stray. */
const NEEDS: Record<string, string[]> = { restore: ["backup.db"], "keys retire": ["some-kid"] };

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names;
}

Deno.test("the top-level help lists every form of every command", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  for (const form of FORMS) assert.ok(help.stdout.includes(synopsis(form)), synopsis(form));
  for (const name of Object.keys(COMMANDS)) {
    assert.ok(FORMS.some((f) => f.words[0] === name), `${name} has a form`);
  }
});

for (const form of FORMS) {
  const words = form.words.join(" ");
  Deno.test(`citadel ${words}: --help exits 0 with its usage; an unknown option or stray argument exits 2 naming it, before anything is created`, async () => {
    await using dir = await tempDir();
    const env = { DATABASE_URL: `file:${dir.path}/data/c.db` };
    const run = (args: string[]) => runCli([...form.words, ...args], { cwd: dir.path, env });
    const [help, option, stray] = await Promise.all([
      run(["--help"]),
      run(["--no-such-flag"]),
      run([...(NEEDS[words] ?? []), "stray-arg"]),
    ]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: citadel /);
    assert.ok(help.stdout.includes(`citadel ${words}`), help.stdout);

    assert.equal(option.code, 2, option.stderr);
    assert.match(option.stderr, /unknown option "--no-such-flag"/);
    assert.match(option.stderr, /usage: citadel /);

    assert.equal(stray.code, 2, stray.stderr);
    assert.match(stray.stderr, /unexpected argument "stray-arg"/);
    assert.deepEqual(await entries(dir.path), [], "a usage error creates nothing");
  });
}

for (const command of ["migrate", "admin", "users", "audit", "keys"]) {
  Deno.test(`citadel ${command} with an unknown subcommand exits 2 naming it`, async () => {
    const result = await runCli([command, "sideways"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`^citadel ${command}: unknown subcommand "sideways"`));
    assert.match(result.stderr, /usage: citadel /);
  });
}

Deno.test("citadel help <command> prints that command's usage", async () => {
  const result = await runCli(["help", "restore"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^usage: citadel restore FILE/);
});
