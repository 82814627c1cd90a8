/**
 * The release version, as the CLI (`--version`), `/health` and `citadel check` report it.
 * @module
 */

/** The release version, compiled in (the binary reads nothing from the source tree). */
export const VERSION = "0.1.0";
