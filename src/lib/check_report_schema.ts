/**
 * The zod schema of the `citadel check --json` document, which `GET /api/v1/admin/check` also
 * answers (so it lives below both the CLI's tools and the routes), and the severities it names.
 */
import * as z from "zod";

/** How bad a finding is, worst first. */
export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;

/** A severity name. */
export const SeveritySchema = z.enum(SEVERITIES);

/** One finding of `citadel check --json`. */
export const FindingSchema = z.object({
  id: z.string().regex(/^CIT-\d{3}$/),
  severity: SeveritySchema,
  title: z.string().min(1),
  found: z.string().min(1),
  fix: z.string().min(1),
  setting: z.string().optional(),
}).strict();

/** One HTTP Observatory test as graded against the live URL. */
export const ObservatoryTestSchema = z.object({
  name: z.string(),
  result: z.string(),
  modifier: z.number().int(),
  pass: z.boolean(),
}).strict();

const count = z.number().int().nonnegative();

/**
 * The document `citadel check --json` prints: one JSON object on stdout. `passed` is
 * false exactly when a finding is at or above `fail_level` (and the exit code is 1).
 */
export const CheckReportSchema = z.object({
  schema: z.literal("citadel-check/1"),
  citadel_version: z.string(),
  checked_at: z.iso.datetime(),
  app_env: z.enum(["development", "production", "test"]),
  fail_level: SeveritySchema,
  passed: z.boolean(),
  counts: z.object({ critical: count, high: count, medium: count, low: count, info: count })
    .strict(),
  findings: z.array(FindingSchema),
  observatory: z.object({
    url: z.string(),
    score: z.number().int().nonnegative(),
    grade: z.string(),
    tests: z.array(ObservatoryTestSchema),
  }).strict().nullable(),
}).strict();

/** The parsed `citadel check --json` document. */
export type CheckReport = z.infer<typeof CheckReportSchema>;
