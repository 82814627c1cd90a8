/**
 * Graceful shutdown: stop taking new requests with a 503, let the ones in flight finish, then
 * close.
 */
import { problem, problemResponse } from "../errors.ts";

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/**
 * Graceful shutdown that really lets in-flight requests finish. Deno's server.shutdown()
 * waits for responses but cuts off request bodies still being read, so we first stop
 * taking new requests (503), wait for the ones in flight, and only then shut down.
 */
export function createDrain() {
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;

  const unavailable = () =>
    problemResponse(
      problem("shutting_down", {
        detail: "The server is shutting down",
        headers: { "connection": "close", "retry-after": "5" },
      }),
    );

  return {
    wrap(handler: Handler): Handler {
      return async (request, info) => {
        if (draining) return unavailable();
        inFlight++;
        try {
          return await handler(request, info);
        } finally {
          inFlight--;
          if (draining && inFlight === 0) onIdle?.();
        }
      };
    },
    /** Refuses new requests and resolves when none is in flight or the time is up. */
    drain(timeoutMs: number): Promise<void> {
      draining = true;
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
  };
}
