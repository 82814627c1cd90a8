/**
 * The binary's HTTP(S) listener: serves the app on HOST:PORT, with TLS when configured, behind
 * the graceful drain.
 */
import type { Config } from "../config.ts";
import type { ListenerEnv } from "../middleware/request_context.ts";
import { createDrain } from "./drain.ts";

type Handler = (request: Request, env: ListenerEnv) => Response | Promise<Response>;

/** An HTTP(S) listener that can be drained and closed. */
export interface Listener {
  /** The port it listens on (the one picked when PORT=0). */
  readonly port: number;
  /** Refuses new requests, lets in-flight ones finish for up to `graceMs`, then closes. */
  stop(graceMs: number): Promise<void>;
}

/** Options of {@linkcode listen}. */
export interface ListenOptions {
  /** Overrides `config.port`, e.g. the port the first worker picked for PORT=0. */
  port?: number;
  /** SO_REUSEPORT (Linux): several isolates accept on one port. */
  reusePort?: boolean;
  onListen?: (address: { url: string; port: number }) => void;
}

/**
 * Serves `handler` on HOST:PORT over HTTP, or HTTPS with TLS_CERT_FILE/TLS_KEY_FILE,
 * behind the graceful drain of {@linkcode createDrain}. The handler learns from its env
 * ({@linkcode ListenerEnv}) whether the connection is TLS: Deno sets the request URL's
 * scheme from an absolute-form target, so the URL cannot tell.
 */
export async function listen(
  config: Config,
  handler: { fetch: Handler },
  options: ListenOptions = {},
): Promise<Listener> {
  const drain = createDrain();
  const tls = config.tls.certFile && config.tls.keyFile
    ? {
      cert: await Deno.readTextFile(config.tls.certFile),
      key: await Deno.readTextFile(config.tls.keyFile),
    }
    : undefined;
  const scheme = tls ? "https" : "http";
  const secure = tls !== undefined;
  const server = Deno.serve(
    {
      hostname: config.host,
      port: options.port ?? config.port,
      reusePort: options.reusePort,
      ...tls,
      onListen: ({ hostname, port }) =>
        options.onListen?.({ url: `${scheme}://${hostname}:${port}`, port }),
    },
    drain.wrap((request, info) => handler.fetch(request, { remoteAddr: info.remoteAddr, secure })),
  );
  return {
    port: server.addr.port,
    async stop(graceMs) {
      await drain.drain(graceMs);
      await server.shutdown();
    },
  };
}
