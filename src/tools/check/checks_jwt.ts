/**
 * The `citadel check` findings about the JWT signing secrets (CIT-002 to CIT-008).
 */
import { assessSecret, MIN_SECRET_BYTES, type SecretAssessment } from "./secret_strength.ts";
import { type CheckContext, type CheckDefinition, defineCheck, type Detail } from "./types.ts";

const NEW_SECRET = "Run `citadel secret` and set JWT_SECRET_KEY to its output";
const DROP_PREVIOUS =
  "Unset JWT_SECRET_KEY_PREVIOUS: tokens it signed stop verifying, and nobody can forge new ones with it";

function raw(context: CheckContext, name: string): string | undefined {
  const value = context.env[name]?.trim();
  return value ? value : undefined;
}

function assessment(context: CheckContext, name: string): SecretAssessment {
  const value = raw(context, name);
  return value === undefined ? {} : assessSecret(name, value);
}

function secretCheck(
  id: string,
  severity: CheckDefinition["severity"],
  name: string,
  aspect: keyof SecretAssessment,
  title: string,
): CheckDefinition {
  return defineCheck({
    id,
    severity,
    group: "jwt",
    title,
    fix: name === "JWT_SECRET_KEY" ? NEW_SECRET : DROP_PREVIOUS,
    run(context): Detail[] {
      const found = assessment(context, name)[aspect];
      return found ? [{ found, setting: name }] : [];
    },
  });
}

/** JWT signing secrets: present, long, random, not a placeholder, rotated properly. */
export const JWT_CHECKS: CheckDefinition[] = [
  secretCheck(
    "CIT-002",
    "critical",
    "JWT_SECRET_KEY",
    "tooShort",
    `JWT_SECRET_KEY is shorter than ${MIN_SECRET_BYTES} bytes`,
  ),
  secretCheck(
    "CIT-003",
    "high",
    "JWT_SECRET_KEY",
    "lowEntropy",
    "JWT_SECRET_KEY has low entropy",
  ),
  secretCheck(
    "CIT-004",
    "critical",
    "JWT_SECRET_KEY",
    "placeholder",
    "JWT_SECRET_KEY is a placeholder or well-known value",
  ),
  defineCheck({
    id: "CIT-005",
    severity: "high",
    group: "jwt",
    title: "JWT_SECRET_KEY_PREVIOUS equals JWT_SECRET_KEY",
    fix: "Run `citadel secret`, set JWT_SECRET_KEY to its output and JWT_SECRET_KEY_PREVIOUS " +
      "to the secret it replaces (or unset JWT_SECRET_KEY_PREVIOUS)",
    run(context) {
      const current = raw(context, "JWT_SECRET_KEY");
      const previous = raw(context, "JWT_SECRET_KEY_PREVIOUS");
      return current && current === previous
        ? [{
          found: "the previous key is the current key, so the last rotation did not happen",
          setting: "JWT_SECRET_KEY_PREVIOUS",
        }]
        : [];
    },
  }),
  secretCheck(
    "CIT-006",
    "critical",
    "JWT_SECRET_KEY_PREVIOUS",
    "tooShort",
    `JWT_SECRET_KEY_PREVIOUS is shorter than ${MIN_SECRET_BYTES} bytes`,
  ),
  secretCheck(
    "CIT-007",
    "high",
    "JWT_SECRET_KEY_PREVIOUS",
    "lowEntropy",
    "JWT_SECRET_KEY_PREVIOUS has low entropy",
  ),
  secretCheck(
    "CIT-008",
    "critical",
    "JWT_SECRET_KEY_PREVIOUS",
    "placeholder",
    "JWT_SECRET_KEY_PREVIOUS is a placeholder or well-known value",
  ),
];
