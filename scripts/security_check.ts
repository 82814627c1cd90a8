/**
 * `deno run --allow-net --allow-read --allow-write --allow-env --allow-ffi --allow-sys
 * scripts/security_check.ts [--json] [--fail-level LEVEL] [--url URL]`: the same as
 * `citadel check [options]`, with the same output and exit codes.
 */
import { main } from "../src/main.ts";

if (import.meta.main) Deno.exit(await main(["check", ...Deno.args]));
