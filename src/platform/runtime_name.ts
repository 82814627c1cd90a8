/**
 * The runtime citadel runs on, for `citadel_build_info`: `deno <version>` (a VM, Deno Deploy)
 * or what `navigator.userAgent` says elsewhere (Cloudflare Workers: `Cloudflare-Workers`).
 * @module
 */

/** The runtime's name and version. */
export function runtimeName(): string {
  if (typeof Deno !== "undefined" && Deno.version?.deno) return `deno ${Deno.version.deno}`;
  return globalThis.navigator?.userAgent ?? "unknown";
}
