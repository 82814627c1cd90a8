/**
 * A minimal pipelining Redis (RESP2) client over TCP or TLS, for the Redis counter store.
 * @module
 */

/** A reply of a Redis server in RESP2; error replies nested in arrays stay values. */
export type RedisReply = string | number | null | RedisError | RedisReply[];

/** An error reply of the server (`-ERR ...`, `-NOSCRIPT ...`). */
export class RedisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisError";
  }
}

/** Options of {@linkcode redisClient}. */
export interface RedisClientOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS: REDIS_URL, whose
   * scheme parseConfig validates. Taken as given; only `redis://` connects without TLS.
   */
  url: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** A pipelining RESP2 connection that reconnects on the next command after a failure. */
export interface RedisClient {
  /** Sends one command; rejects with RedisError on an error reply, or Error when unreachable. */
  command(args: ReadonlyArray<string | number>): Promise<RedisReply>;
  close(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | number>): Uint8Array {
  let frame = `*${args.length}\r\n`;
  for (const arg of args) {
    const text = String(arg);
    frame += `$${encoder.encode(text).length}\r\n${text}\r\n`;
  }
  return encoder.encode(frame);
}

/** Parses one reply at `pos`; undefined when the buffer does not hold all of it yet. */
export function parseReply(buf: Uint8Array, pos: number): [RedisReply, number] | undefined {
  if (pos >= buf.length) return undefined;
  const cr = buf.indexOf(13, pos);
  if (cr < 0 || cr + 1 >= buf.length) return undefined;
  const line = decoder.decode(buf.subarray(pos + 1, cr));
  const after = cr + 2;
  switch (buf[pos]) {
    case 43: // +
      return [line, after];
    case 45: // -
      return [new RedisError(line), after];
    case 58: // :
      return [Number(line), after];
    case 36: { // $
      const length = Number(line);
      if (length < 0) return [null, after];
      if (after + length + 2 > buf.length) return undefined;
      return [decoder.decode(buf.subarray(after, after + length)), after + length + 2];
    }
    case 42: { // *
      const count = Number(line);
      if (count < 0) return [null, after];
      const items: RedisReply[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (!item) return undefined;
        items.push(item[0]);
        next = item[1];
      }
      return [items, next];
    }
    default:
      throw new Error("The redis server sent a malformed reply");
  }
}

interface Pending {
  resolve(reply: RedisReply): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

function connectTo(url: URL): Promise<Deno.Conn> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = Number(url.port || 6379);
  return url.protocol === "redis:"
    ? Deno.connect({ hostname, port })
    : Deno.connectTls({ hostname, port });
}

/**
 * A minimal Redis client: one TCP (or TLS) connection, commands pipelined in order,
 * AUTH and SELECT from the URL on connect. Any connection failure or timeout rejects
 * every command in flight; the next command connects again.
 */
export function redisClient(options: RedisClientOptions): RedisClient {
  const url = new URL(options.url);
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const commandTimeout = options.commandTimeoutMs ?? 2000;
  const handshake: Array<Array<string>> = [];
  if (url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    handshake.push(user ? ["AUTH", user, password] : ["AUTH", password]);
  }
  const database = url.pathname.replace(/^\//, "");
  if (database !== "" && database !== "0") handshake.push(["SELECT", database]);

  let conn: Deno.Conn | undefined;
  let connecting: Promise<Deno.Conn> | undefined;
  let pending: Pending[] = [];
  let outbox: Uint8Array[] = [];
  let writing = false;
  let closed = false;

  function fail(error: Error, which?: Deno.Conn) {
    if (which && which !== conn) return;
    const failed = pending;
    pending = [];
    outbox = [];
    try {
      conn?.close();
    } catch { /* already closed */ }
    conn = undefined;
    connecting = undefined;
    for (const p of failed) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  async function readLoop(current: Deno.Conn) {
    let buffer = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await current.read(chunk);
        if (n === null) throw new Error("The redis server closed the connection");
        const merged = new Uint8Array(buffer.length + n);
        merged.set(buffer);
        merged.set(chunk.subarray(0, n), buffer.length);
        let pos = 0;
        for (let reply = parseReply(merged, pos); reply; reply = parseReply(merged, pos)) {
          pos = reply[1];
          const waiter = pending.shift();
          if (!waiter) throw new Error("The redis server sent an unexpected reply");
          clearTimeout(waiter.timer);
          if (reply[0] instanceof RedisError) waiter.reject(reply[0]);
          else waiter.resolve(reply[0]);
        }
        buffer = merged.slice(pos);
      }
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)), current);
    }
  }

  async function flush(current: Deno.Conn) {
    if (writing) return;
    writing = true;
    try {
      while (outbox.length > 0 && current === conn) {
        const frames = outbox;
        outbox = [];
        const bytes = frames.length === 1 ? frames[0] : concat(frames);
        for (let written = 0; written < bytes.length;) {
          written += await current.write(bytes.subarray(written));
        }
      }
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)), current);
    } finally {
      writing = false;
    }
  }

  function send(current: Deno.Conn, args: ReadonlyArray<string | number>): Promise<RedisReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error("The redis server did not answer in time"), current),
        commandTimeout,
      );
      pending.push({ resolve, reject, timer });
      outbox.push(encodeCommand(args));
      void flush(current);
    });
  }

  async function open(): Promise<Deno.Conn> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Connecting to redis timed out")), connectTimeout);
    });
    const attempt = connectTo(url);
    let current: Deno.Conn;
    try {
      current = await Promise.race([attempt, timeout]);
    } catch (error) {
      connecting = undefined;
      // A connection that completes after the timeout is never used.
      attempt.then((late) => late.close(), () => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (closed) {
      current.close();
      throw new Error("The redis client is closed");
    }
    conn = current;
    void readLoop(current);
    try {
      await Promise.all(handshake.map((args) => send(current, args)));
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)), current);
      throw error;
    }
    return current;
  }

  return {
    async command(args) {
      if (closed) throw new Error("The redis client is closed");
      const current = conn ?? await (connecting ??= open());
      return await send(current, args);
    },
    close() {
      closed = true;
      fail(new Error("The redis client is closed"));
    },
  };
}

function concat(frames: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(frames.reduce((sum, f) => sum + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    bytes.set(frame, offset);
    offset += frame.length;
  }
  return bytes;
}
