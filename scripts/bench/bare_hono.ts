/**
 * Baseline for `deno task bench`: a Hono app with one route and no middleware, the
 * denominator of every ratio the benchmark prints.
 *
 *   deno run --allow-net scripts/bench/bare_hono.ts <port>
 */
import { Hono } from "hono";

const port = Number(Deno.args[0] ?? 0);
const app = new Hono().get("/", (c) => c.text("Hello, world!"));
Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, app.fetch);
