/** The release version, compiled in (the binary reads nothing from the source tree). */
export const VERSION = "0.1.0";
