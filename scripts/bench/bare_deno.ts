/**
 * Baseline for `deno task bench`: the smallest Deno.serve hello, no framework.
 *
 *   deno run --allow-net scripts/bench/bare_deno.ts <port>
 * @module
 */

const port = Number(Deno.args[0] ?? 0);
Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, () => new Response("Hello, world!"));
