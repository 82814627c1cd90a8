/**
 * The per-provider variables of social sign-in, `OAUTH_<NAME>_ISSUER`, `_CLIENT_ID`,
 * `_CLIENT_SECRET` and `_SCOPES`, for each name in OAUTH_PROVIDERS; their names depend on
 * that list, so they are read here rather than declared one by one. The rules that read the
 * OAuth settings together are here too. Imported by `config.ts` only.
 */
import type { ConfigProblem } from "./config_declaration.ts";
import {
  genericDisplayName,
  OAUTH_PRESETS,
  type OAuthProviderConfig,
  PROVIDER_NAME,
  providerVariablePrefix,
} from "./lib/oauth_providers.ts";

type Env = Record<string, string | undefined>;

/** The OAuth settings these rules read; `Config` fits. */
export interface OAuthSettings {
  oauth: { providers: string[]; redirectUrls: string[]; storeTokens: boolean };
  encryption: { key?: string };
  consoleEnabled: boolean;
}

/** Builds each provider of OAUTH_PROVIDERS from its variables; problems name the variable. */
export function oauthProviders(
  env: Env,
  names: readonly string[],
  problems: ConfigProblem[],
): OAuthProviderConfig[] {
  const providers: OAuthProviderConfig[] = [];
  const seen = new Set<string>();
  for (const raw of names) {
    const name = raw.toLowerCase();
    if (!PROVIDER_NAME.test(name)) {
      problems.push({
        variable: "OAUTH_PROVIDERS",
        problem: `"${raw}" is not a provider name (letters and digits, starting with a letter)`,
        fix: "Use names like google,github,linkedin,acme",
      });
      continue;
    }
    if (seen.has(name)) {
      problems.push({
        variable: "OAUTH_PROVIDERS",
        problem: `"${name}" is listed twice`,
        fix: "List each provider once",
      });
      continue;
    }
    seen.add(name);
    const provider = oneProvider(env, name, problems);
    if (provider) providers.push(provider);
  }
  return providers;
}

function oneProvider(
  env: Env,
  name: string,
  problems: ConfigProblem[],
): OAuthProviderConfig | undefined {
  const prefix = providerVariablePrefix(name);
  const value = (suffix: string) => env[prefix + suffix]?.trim() || undefined;
  const preset = OAUTH_PRESETS[name];
  const issuer = value("ISSUER") ?? preset?.issuer;
  const clientId = value("CLIENT_ID");
  const clientSecret = value("CLIENT_SECRET");
  const before = problems.length;
  if (!issuer) {
    problems.push({
      variable: `${prefix}ISSUER`,
      problem: `is required for the provider "${name}", which is not a preset (google, ` +
        "github, linkedin)",
      fix:
        `Set ${prefix}ISSUER to the provider's OpenID Connect issuer, e.g. https://id.example.com`,
    });
  } else if (!isIssuer(issuer)) {
    problems.push({
      variable: `${prefix}ISSUER`,
      problem: "must be an absolute http(s) URL without credentials, query or fragment",
      fix: `Set ${prefix}ISSUER to the issuer its discovery document names`,
    });
  }
  for (const [suffix, present] of [["CLIENT_ID", clientId], ["CLIENT_SECRET", clientSecret]]) {
    if (!present) {
      problems.push({
        variable: prefix + suffix,
        problem: `is required because OAUTH_PROVIDERS lists "${name}"`,
        fix: `Register citadel with the provider and set ${prefix}${suffix} to what it gives`,
      });
    }
  }
  if (problems.length > before) return undefined;
  const kind = preset?.kind ?? "oidc";
  const listed = value("SCOPES")?.split(/[\s,]+/).filter(Boolean);
  const scopes = listed ?? preset?.scopes ?? ["openid", "email", "profile"];
  return {
    name,
    displayName: preset?.displayName ?? genericDisplayName(name),
    kind,
    issuer: issuer!,
    clientId: clientId!,
    clientSecret: clientSecret!,
    // An OpenID Connect sign-in needs the ID token that only the `openid` scope asks for.
    scopes: kind === "oidc" && !scopes.includes("openid") ? ["openid", ...scopes] : scopes,
  };
}

function isIssuer(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === "https:" || url.protocol === "http:") && !url.search && !url.hash &&
    !url.username && !url.password && url.hostname !== "";
}

/**
 * A `redirect_to` entry: absolute (an app's https page, or a mobile app's own scheme), with no
 * fragment (the code is put there) and no credentials.
 */
export function redirectUrlProblem(entry: string): string | undefined {
  if (!URL.canParse(entry)) return "is not an absolute URL";
  const url = new URL(entry);
  if (url.hash || entry.includes("#")) return "has a fragment, where the one-time code goes";
  if (url.username || url.password) return "has credentials";
  if (["javascript:", "data:", "file:", "blob:", "vbscript:"].includes(url.protocol)) {
    return `uses the ${url.protocol} scheme`;
  }
  if ((url.protocol === "http:" || url.protocol === "https:") && !url.hostname) {
    return "has no host";
  }
  return undefined;
}

/**
 * OAUTH_REDIRECT_URLS with providers and no console (whose own return page is always
 * accepted), its entries, and OAUTH_STORE_TOKENS' key.
 */
export function oauthProblems(config: OAuthSettings): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { providers, redirectUrls, storeTokens } = config.oauth;
  if (providers.length > 0 && redirectUrls.length === 0 && !config.consoleEnabled) {
    problems.push({
      variable: "OAUTH_REDIRECT_URLS",
      problem: "is required when OAUTH_PROVIDERS is set and CONSOLE_ENABLED=false: a sign-in " +
        "returns only to one of them",
      fix: "Set OAUTH_REDIRECT_URLS=https://app.example.com/auth/callback (comma list)",
    });
  }
  for (const entry of redirectUrls) {
    const problem = redirectUrlProblem(entry);
    if (problem) {
      problems.push({
        variable: "OAUTH_REDIRECT_URLS",
        problem: `"${entry}" ${problem}`,
        fix: "List exact absolute URLs, e.g. https://app.example.com/auth/callback," +
          "com.example.app:/oauth",
      });
    }
  }
  if (storeTokens && !config.encryption.key) {
    problems.push({
      variable: "OAUTH_STORE_TOKENS",
      problem: "needs ENCRYPTION_KEY: provider tokens are stored only encrypted",
      fix: "Set ENCRYPTION_KEY (`openssl rand -base64 32`), or unset OAUTH_STORE_TOKENS",
    });
  }
  return problems;
}
