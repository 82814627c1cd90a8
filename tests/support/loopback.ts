/**
 * Real sockets on loopback for HTTP tests: the in-process app behind `Deno.serve` on a
 * free port, and raw request bytes written to a TCP socket, so nothing between the test
 * and the server (fetch, URL parsing) normalises the request target first.
 */

/** A `fetch` handler as Hono apps expose it. */
export interface FetchApp {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** An app served on 127.0.0.1 until disposed. */
export interface LoopbackServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves `app` with `Deno.serve` on a free loopback port, peer address and all. */
export function serveOnLoopback(app: FetchApp): LoopbackServer {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request, info) => app.fetch(request, info),
  );
  const port = server.addr.port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Writes `text` to a TCP connection and returns everything answered until it closes. */
export async function rawHttp(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(text));
  const chunks: string[] = [];
  const buf = new Uint8Array(16384);
  const decoder = new TextDecoder();
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(decoder.decode(buf.subarray(0, n), { stream: true }));
  }
  conn.close();
  return chunks.join("");
}

/** One raw HTTP/1.1 request that asks the server to close the connection after it. */
export function rawRequest(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = "",
): string {
  const lines = [`${method} ${target} HTTP/1.1`, "Connection: close"];
  for (const [name, value] of Object.entries({ host: "localhost", ...headers })) {
    lines.push(`${name}: ${value}`);
  }
  if (body) lines.push(`content-length: ${new TextEncoder().encode(body).length}`);
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

/** A raw response's status code, lower-cased header map and body. */
export function parseRawResponse(text: string): {
  status: number;
  headers: Map<string, string>;
  body: string;
} {
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(split + 4) };
}
