/**
 * Ceiling for `deno task bench`: bare Hono answering with a recorded copy of citadel's
 * `GET /api/v1/me` response (same status, headers and body), its headers appended the
 * way citadel appends its security headers. Whatever this route loses against the bare
 * hello is the cost of sending those headers and bytes, which no middleware can avoid.
 *
 *   deno run --allow-net --allow-read scripts/bench/static_response.ts <port> <file.json>
 *
 * The file holds `{ "headers": [[name, value], ...], "body": "..." }`.
 */
import { Hono } from "hono";
import { setTrustedHeaders, validatedPairs } from "../../src/middleware/trusted_headers.ts";

const [portArg, file] = Deno.args;
const recorded = JSON.parse(await Deno.readTextFile(file)) as {
  headers: Array<[string, string]>;
  body: string;
};
const pairs = validatedPairs(
  recorded.headers.filter(([name]) => !/^(content-type|content-length|date)$/i.test(name)),
);
const none = new Set<string>();
const app = new Hono().get("/", (c) => {
  const response = c.body(recorded.body, 200, { "content-type": "application/json" });
  setTrustedHeaders(response.headers, pairs, none);
  return response;
});
Deno.serve({
  hostname: "127.0.0.1",
  port: Number(portArg),
  onListen: ({ port }) => console.log(`listening ${port}`),
}, app.fetch);
