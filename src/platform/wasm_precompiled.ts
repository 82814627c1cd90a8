/**
 * Precompiled WebAssembly for runtimes that forbid compiling bytes (Cloudflare Workers), so
 * hash-wasm can load there.
 * @module
 */

/** WebAssembly modules compiled ahead of time, keyed by the SHA-256 (hex) of their bytes. */
export type PrecompiledWasm = Readonly<Record<string, WebAssembly.Module>>;

type Compile = typeof WebAssembly.compile;

async function sha256Hex(bytes: BufferSource): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Lets libraries that compile embedded WebAssembly at run time (hash-wasm) work where
 * the runtime forbids compiling bytes (Cloudflare Workers: "Wasm code generation
 * disallowed by embedder"). `WebAssembly.compile(bytes)` answers with the module
 * uploaded alongside the Worker when the bytes are exactly the ones it was built
 * from (same SHA-256), and falls back to the runtime's own compile otherwise.
 * Installing it twice keeps the first set and adds the new modules.
 */
export function installPrecompiledWasm(modules: PrecompiledWasm): void {
  const wasm = WebAssembly as {
    compile: Compile & { precompiled?: Map<string, WebAssembly.Module> };
  };
  const existing = wasm.compile.precompiled;
  if (existing) {
    for (const [hash, module] of Object.entries(modules)) existing.set(hash, module);
    return;
  }
  const original: Compile = wasm.compile.bind(WebAssembly);
  const known = new Map(Object.entries(modules));
  const compile = async function compilePrecompiled(bytes: BufferSource) {
    return known.get(await sha256Hex(bytes)) ?? await original(bytes);
  };
  wasm.compile = Object.assign(compile, { precompiled: known }) as typeof wasm.compile;
}
