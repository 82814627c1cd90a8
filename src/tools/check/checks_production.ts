/**
 * The production rules as `citadel check` findings. The rules are the ones `serve`
 * enforces (src/production_rules.ts), evaluated on the same parsed configuration, so
 * whatever makes `serve` refuse to start is reported here at high or critical.
 */
import { productionViolations } from "../../production_rules.ts";
import { type CheckDefinition, defineCheck } from "./types.ts";

/** One finding per production rule the configuration breaks, at the rule's severity. */
export const PRODUCTION_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-091",
    severity: "high",
    group: "config",
    title: "The server refuses to start with this configuration in production",
    fix: "Correct the variable named in the finding",
    run: (context) =>
      context.production
        ? productionViolations(context.config).map((rule) => ({
          found: `${rule.variable}: ${rule.message} (rule ${rule.id})`,
          fix: rule.fix,
          setting: rule.variable,
          severity: rule.severity,
        }))
        : [],
  }),
];
