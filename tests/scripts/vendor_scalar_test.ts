/**
 * scripts/vendor_scalar.ts: the embedded modules are the pinned release (a pin changed without
 * running the script again fails here), and the modules it writes hold what they were given.
 */
import assert from "node:assert/strict";
import { releaseModuleText, scriptModuleText, VERSION } from "../../scripts/vendor_scalar.ts";
import { SCALAR_VERSION } from "../../src/routes/vendor/scalar_release.ts";

Deno.test("the embedded Scalar is the release the vendoring script pins", () => {
  assert.equal(SCALAR_VERSION, VERSION);
});

Deno.test("the generated module carries the base64 in short lines that join back exactly", async () => {
  const base64 = btoa("x".repeat(250));
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/script.ts`, scriptModuleText(base64));
    await Deno.writeTextFile(`${dir}/release.ts`, releaseModuleText("sha384-abc", 250));
    const script = await import(`file://${dir}/script.ts`);
    assert.equal(script.SCALAR_GZIP_BASE64.replaceAll("\n", ""), base64);
    assert.ok(script.SCALAR_GZIP_BASE64.split("\n").every((line: string) => line.length <= 100));
    const release = await import(`file://${dir}/release.ts`);
    assert.equal(release.SCALAR_INTEGRITY, "sha384-abc");
    assert.equal(release.SCALAR_VERSION, VERSION);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
