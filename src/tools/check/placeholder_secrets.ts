/**
 * The list of well-known placeholder secrets `citadel check` refuses as signing keys.
 * @module
 */

/**
 * Values shipped in READMEs, `.env.example` files and tutorials, compared after
 * lower-casing and removing everything but letters and digits ("CHANGE-ME" is "changeme").
 */
export const PLACEHOLDER_SECRETS: ReadonlySet<string> = new Set([
  "changeme",
  "changeit",
  "changethis",
  "changemeinproduction",
  "changethisinproduction",
  "changemenow",
  "replaceme",
  "replacewithyoursecret",
  "secret",
  "secretkey",
  "jwtsecret",
  "jwtsecretkey",
  "yoursecret",
  "yoursecretkey",
  "yoursecretkeyhere",
  "yoursecrethere",
  "yourjwtsecret",
  "yourjwtsecretkey",
  "yoursupersecretkey",
  "yoursupersecretjwtkey",
  "mysecret",
  "mysecretkey",
  "supersecret",
  "supersecretkey",
  "topsecret",
  "password",
  "default",
  "example",
  "placeholder",
  "insecure",
  "notasecret",
  "test",
  "testing",
  "testsecret",
  "development",
  "dev",
  "devsecret",
]);

/** Words that make up hand-written placeholder secrets ("my-super-secret-jwt-key-2024"). */
export const FILLER_WORDS: ReadonlySet<string> = new Set(
  `
  secret secrets key keys jwt token tokens change changeme me this it your my our the super
  very long random string value here please replace with default test testing dev
  development prod production staging example sample demo dummy placeholder insecure not do
  dont use in for app api citadel password passwd signing sign hmac hs256 generate generated
  real strong unique todo fixme set put at least characters chars bytes and or to of only
  local localhost admin auth access refresh session top private server backend is should be
  must xxx xxxx abc qwerty foo bar baz hello world new old previous next rotate rotated
`.trim().split(/\s+/),
);

/** Long placeholder fragments; they cannot occur in a random secret by chance (about 1 in 10^8). */
export const PLACEHOLDER_WORDS = [
  "changeme",
  "change-me",
  "change_me",
  "replaceme",
  "replace-me",
  "yoursecret",
  "your-secret",
  "your_secret",
  "placeholder",
  "supersecret",
  "super-secret",
  "notasecret",
  "secretkey",
  "secret-key",
  "secret_key",
];
