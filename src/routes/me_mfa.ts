/**
 * Routes of `/api/v1/me/mfa`: TOTP enrolment and confirmation, turning MFA off, and new
 * recovery codes. Sessions only, and only shortly after the user proved who they are.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented } from "../lib/route_docs.ts";
import { authorize } from "../middleware/authenticate.ts";
import { validate, type Validated } from "../middleware/validate.ts";
import type { Services } from "../services/container.ts";
import type { FactorMethod } from "../services/mfa.ts";
import { auditContext } from "./audit_context.ts";

const code = z.string().trim().min(1).max(16);
/** `code` also takes a recovery code, as the contract's `{code}` allows either. */
const factorBody = z.union([
  z.object({ code: z.string().trim().min(1).max(64) }).strict(),
  z.object({ recovery_code: z.string().trim().min(1).max(64) }).strict(),
], { error: "send either code or recovery_code" });

const codeBody = z.object({ code }).strict();

/**
 * The context of a handler with the inputs `validate` checked, named by hand: wrapped in
 * documented(), the handler no longer gets them from Hono's inference.
 */
type FactorBody = { json: typeof factorBody };

const enrolmentSchema = z.object({
  secret: z.string().describe("The TOTP seed, base32"),
  otpauth_uri: z.string().startsWith("otpauth://totp/"),
}).strict();
const recoveryCodesSchema = z.object({
  recovery_codes: z.array(z.string()).describe("Shown only in this answer"),
}).strict();
const tags = ["me"];
/** What checking the caller's current factor can answer, under the same limits as a login's. */
const FACTOR_CHECK = [
  "mfa_not_enabled",
  "invalid_mfa_code",
  "too_many_attempts",
  "guard_unavailable",
] as const;

/** A TOTP code is six digits; anything else given as `code` is tried as a recovery code. */
function factorOf(body: z.infer<typeof factorBody>) {
  if ("recovery_code" in body) return { recovery_code: body.recovery_code };
  return /^\d{6}$/.test(body.code) ? { code: body.code } : { recovery_code: body.code };
}

/** `/api/v1/me/mfa`: enrol, confirm, turn off, regenerate recovery codes. */
export function meMfaRoutes(services: Services) {
  const { accounts, mfa, mfaLogin } = services;
  /** The caller's current factor, verified under the same limits as a login's. */
  const verified = async (
    c: Parameters<typeof auditContext>[0],
    body: z.infer<typeof factorBody>,
    purpose: "disable" | "regenerate",
  ) => {
    const user = await accounts.current(c.get("principal")!.userId);
    mfa.assertEnabled(user);
    const method: FactorMethod = await mfaLogin.verify(
      user,
      factorOf(body),
      auditContext(c),
      purpose,
    );
    return { user, method };
  };
  // API keys are service credentials: the second factor is the owner's, managed in a session.
  const sessionStepUp = authorize({ scope: "me:write", sessionOnly: true, fresh: true });

  return new Hono<AppEnv>()
    .post(
      "/totp",
      sessionStepUp,
      documented({
        summary: "Start (or restart) a TOTP enrolment",
        description: "A new seed, pending until POST /me/mfa/totp/verify confirms it with a code.",
        tags,
        responses: { 200: { description: "The seed to enter in an app", schema: enrolmentSchema } },
        errors: ["mfa_already_enabled", "mfa_unavailable"],
      }, async (c) => {
        const user = await accounts.current(c.get("principal")!.userId);
        return c.json(await mfa.enrol(user));
      }),
    )
    .post(
      "/totp/verify",
      sessionStepUp,
      validate("json", codeBody),
      documented({
        summary: "Confirm the TOTP enrolment with a code: MFA is on",
        description: "Answers the recovery codes, shown only here; the current session now " +
          "counts as signed in with the second factor.",
        tags,
        responses: { 200: { description: "MFA is on", schema: recoveryCodesSchema } },
        errors: ["mfa_already_enabled", "mfa_enrollment_not_started", "invalid_mfa_code"],
      }, async (c: Validated<{ json: typeof codeBody }>) => {
        const principal = c.get("principal")!;
        const user = await accounts.current(principal.userId);
        const answer = await mfa.confirm(
          user,
          c.req.valid("json").code,
          principal.sessionId,
          auditContext(c),
        );
        return c.json(answer);
      }),
    )
    .delete(
      "/",
      sessionStepUp,
      validate("json", factorBody),
      documented({
        summary: "Turn MFA off, with a current code or recovery code",
        description: "Every other session of the user ends.",
        tags,
        responses: { 204: { description: "MFA is off" } },
        errors: [...FACTOR_CHECK],
      }, async (c: Validated<FactorBody>) => {
        const { user, method } = await verified(c, c.req.valid("json"), "disable");
        await mfa.disable(user, method, c.get("principal")!.sessionId, auditContext(c));
        return c.body(null, 204);
      }),
    )
    .post(
      "/recovery-codes",
      sessionStepUp,
      validate("json", factorBody),
      documented({
        summary: "Replace the recovery codes, with a current code or recovery code",
        description: "The old set stops working; the new one is shown only here.",
        tags,
        responses: { 200: { description: "The new recovery codes", schema: recoveryCodesSchema } },
        errors: [...FACTOR_CHECK],
      }, async (c: Validated<FactorBody>) => {
        const { user } = await verified(c, c.req.valid("json"), "regenerate");
        return c.json(await mfa.regenerate(user, auditContext(c)));
      }),
    );
}
