/**
 * The `citadel serve` command: migrate, bootstrap the super admin and serve until a signal, in
 * one isolate or as the supervisor of several workers.
 */
import { parseArgs } from "node:util";
import { createApp } from "../app.ts";
import { recordAudit } from "../services/audit.ts";
import { serverStartedDetails, SYSTEM_ACTOR } from "../services/audit_events.ts";
import { cleanupExpired } from "../services/cleanup.ts";
import { VERSION } from "../version.ts";
import { Metrics } from "../platform/metrics.ts";
import { runtimeName } from "../platform/runtime_name.ts";
import { bootstrapForServe, prepareSigningKeys } from "./bootstrap.ts";
import { holdServingLock } from "../server/database_lock.ts";
import { runCheck } from "./check.ts";
import { resolveDataDirSecrets } from "./data_dir_secrets.ts";
import { startEmailSender } from "../server/email_sender.ts";
import { listen } from "../server/listen.ts";
import { loadConfig } from "./load_config.ts";
import { openLogRelay } from "../server/log_relay.ts";
import { redirectServer } from "../server/redirect_server.ts";
import { startResourceLog } from "../server/resource_log.ts";
import { openRuntime } from "../server/runtime.ts";
import { warmUpInBackground } from "../server/warm_up.ts";
import { planWorkers, startWorkers } from "../server/workers.ts";

/** Usage of `citadel serve`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel serve [--workers N]

Applies pending migrations (unless MIGRATE_ON_START=false), creates the first super admin,
then serves HTTP(S) until SIGINT/SIGTERM. --workers N runs N isolates on one port
(default WORKERS; 0 = one per CPU).`;

const SHUTDOWN_GRACE_MS = 10_000;
const CLEANUP_EVERY_MS = 3_600_000;
/** How long a `citadel check` report is reused for the admin console (the audit reads files). */
const CHECK_REUSE_MS = 60_000;

/**
 * `citadel check` of this deployment for `GET /api/v1/admin/check` (and so the console): run
 * here, where the CLI's audit may read the host, and reused for a minute.
 */
function recentCheckReport(): () => Promise<Record<string, unknown>> {
  let last: { at: number; report: Promise<Record<string, unknown>> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > CHECK_REUSE_MS) {
      const report = runCheck({ env: Deno.env.toObject(), cwd: Deno.cwd(), now })
        .then((outcome) => outcome.report as Record<string, unknown>);
      last = { at: now, report };
      report.catch(() => last = undefined);
    }
    return last.report;
  };
}

/**
 * `citadel serve [--workers N]`: migrate, bootstrap the super admin, serve until
 * SIGINT/SIGTERM; with several workers this isolate supervises and the workers serve.
 */
export async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { workers: { type: "string" } }, strict: true });
  // Registered before anything starts, so a signal during start-up still ends in a clean stop.
  const shutdownRequested = new Promise<string>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => resolve(signal));
    }
  });
  const plan = planWorkers(
    await resolveDataDirSecrets(await loadConfig(), (m) => console.error(`warning: ${m}`)),
    values.workers,
  );
  const { config } = plan;
  // Held for the server's lifetime (workers run in this process): restore and migrate uuid
  // refuse while it is held. Released when serve returns, or by the OS if the process dies.
  using _lock = await holdServingLock(config.databaseUrl);
  const relay = plan.count > 1 ? await openLogRelay(config) : undefined;
  // Made before the database, so its statements are timed from the first one.
  const metrics = new Metrics({ version: VERSION, runtime: runtimeName() });
  const runtime = await openRuntime(config, {
    migrate: config.migrateOnStart,
    logger: relay?.logger,
    metrics,
  });
  const { deps } = runtime;
  const { logger } = deps;
  for (const note of plan.notes) logger.warn(note);

  try {
    await prepareSigningKeys(deps);
    await bootstrapForServe(deps);
  } catch (error) {
    await runtime.close();
    throw error;
  }

  await recordAudit(deps.db, {
    ...SYSTEM_ACTOR,
    action: "server.started",
    outcome: "success",
    details: serverStartedDetails(config, VERSION),
  }, { clock: deps.clock, metrics });

  const cleanupTimer = setInterval(() => {
    cleanupExpired(deps, config).then(
      (removed) => logger.info("cleanup", { ...removed }),
      (error) => logger.error("cleanup failed", { error }),
    );
  }, CLEANUP_EVERY_MS);
  Deno.unrefTimer(cleanupTimer);

  const checkReport = recentCheckReport();
  deps.checkReport = checkReport;
  const server = relay
    ? await startWorkers(config, plan.count, relay, checkReport, () => metrics.snapshot())
    : await listen(config, createApp(deps), {
      onListen: ({ url, port }) => logger.info("listening", { url, port }),
    });
  // Workers do this in their own isolates.
  if (!relay) warmUpInBackground(deps.hasher, logger);
  const emailSender = await startEmailSender(deps);
  // With --workers these are the supervisor's: one resource line for the process.
  const stopLagSampler = metrics.startLagSampler();
  const resourceLog = startResourceLog({
    intervalSeconds: config.metrics.resourceLogInterval,
    db: deps.db,
    clock: deps.clock,
    logger,
    metrics,
  });

  const redirect = config.tls.httpRedirectPort && config.tls.certFile
    ? redirectServer({
      hostname: config.host,
      port: config.tls.httpRedirectPort,
      httpsPort: server.port,
      allowedHosts: config.allowedHosts,
      onListen: ({ port }) => logger.info("redirecting plain HTTP to HTTPS", { port }),
    })
    : undefined;

  const signal = await shutdownRequested;
  logger.info("shutting down", { signal });
  await Promise.all([server.stop(SHUTDOWN_GRACE_MS), redirect?.shutdown()]);
  await emailSender?.stop();
  await resourceLog.stop();
  stopLagSampler();
  clearInterval(cleanupTimer);
  logger.info("stopped");
  await runtime.close();
  return 0;
}
