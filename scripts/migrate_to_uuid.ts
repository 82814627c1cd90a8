/**
 * `deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys scripts/migrate_to_uuid.ts
 * --database <file> [options]`: the same as `citadel migrate uuid [options]`.
 */
import { main } from "../src/main.ts";

if (import.meta.main) Deno.exit(await main(["migrate", "uuid", ...Deno.args]));
