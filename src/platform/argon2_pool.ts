import type { Argon2Params, PasswordHasher } from "./password_hasher.ts";

type JobBody =
  | { op: "hash"; password: string; options: NativeOptions }
  | { op: "verify"; phc: string; password: string };

/** A job for a pool thread. */
export type Argon2Job = JobBody & { id: number };

/** A pool thread's answer. */
export type Argon2Reply = { id: number; value: string | boolean } | { id: number; error: string };

interface NativeOptions {
  algorithm: 2;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** Options of {@linkcode argon2Pool}. */
export interface Argon2PoolOptions {
  /** Hashes computed at once (threads); default: the CPUs this process may use. */
  size?: number;
  /** A thread idle this long is ended, giving its memory back; default 30 s. */
  idleMs?: number;
}

/** A {@linkcode PasswordHasher} that owns threads; close it to end them. */
export interface PooledHasher extends PasswordHasher {
  close(): void;
}

interface Slot {
  worker: Worker;
  job?: Pending;
  idleTimer?: ReturnType<typeof setTimeout>;
}

interface Pending {
  job: Argon2Job;
  resolve(value: string | boolean): void;
  reject(error: Error): void;
}

/**
 * argon2id through the native addon on a pool of worker threads. The addon's own async
 * functions run one hash at a time per process under Deno, so logins could use a
 * single core; here up to `size` hashes run in parallel, and no more: each holds the
 * configured memory (19 MiB by default), so the pool also bounds the memory a burst of
 * logins can take. Jobs beyond that wait in order. Threads start on demand and end
 * when idle.
 */
export function argon2Pool(params: Argon2Params, options: Argon2PoolOptions = {}): PooledHasher {
  const size = Math.max(1, options.size ?? (navigator.hardwareConcurrency || 1));
  const idleMs = options.idleMs ?? 30_000;
  const native: NativeOptions = {
    algorithm: 2, // Argon2id
    memoryCost: params.memoryKib,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  function retire(slot: Slot) {
    clearTimeout(slot.idleTimer);
    slot.worker.terminate();
    slots.splice(slots.indexOf(slot), 1);
  }

  function spawn(): Slot {
    const worker = new Worker(new URL("./argon2_pool_worker.ts", import.meta.url).href, {
      type: "module",
      name: "citadel-argon2",
    });
    const slot: Slot = { worker };
    worker.onmessage = ({ data }: MessageEvent<Argon2Reply>) => {
      const pending = slot.job;
      slot.job = undefined;
      if (pending?.job.id === data.id) {
        if ("error" in data) pending.reject(new Error(data.error));
        else pending.resolve(data.value);
      }
      dispatch();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      const pending = slot.job;
      retire(slot);
      pending?.reject(new Error(`argon2 thread failed: ${event.message}`));
      dispatch();
    };
    slots.push(slot);
    return slot;
  }

  function dispatch() {
    while (queue.length > 0) {
      const slot = slots.find((s) => s.job === undefined) ??
        (slots.length < size ? spawn() : undefined);
      if (!slot) return;
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      slot.job = queue.shift()!;
      slot.worker.postMessage(slot.job.job);
    }
    for (const slot of slots) {
      if (slot.job !== undefined || slot.idleTimer !== undefined) continue;
      const timer = setTimeout(() => retire(slot), idleMs);
      // An idle thread must not keep a finished command alive.
      Deno.unrefTimer(timer);
      slot.idleTimer = timer;
    }
  }

  function run<T extends string | boolean>(job: JobBody): Promise<T> {
    if (closed) return Promise.reject(new Error("The argon2 pool is closed"));
    return new Promise<T>((resolve, reject) => {
      queue.push({
        job: { ...job, id: nextId++ } as Argon2Job,
        resolve: resolve as (value: string | boolean) => void,
        reject,
      });
      dispatch();
    });
  }

  return {
    params,
    hash: (password) => run<string>({ op: "hash", password, options: native }),
    async verify(phc, password) {
      try {
        return await run<boolean>({ op: "verify", phc, password });
      } catch {
        return false;
      }
    },
    close() {
      closed = true;
      for (const pending of queue.splice(0)) pending.reject(new Error("The argon2 pool is closed"));
      for (const slot of [...slots]) {
        slot.job?.reject(new Error("The argon2 pool is closed"));
        retire(slot);
      }
    },
  };
}
