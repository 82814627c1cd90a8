// Logs the secret corpus to stdout through the production stdout sink.
import { createLogger, stdoutSink } from "../../src/platform/logger.ts";
import { logCorpus } from "./secret_corpus.ts";

const logger = createLogger({ level: "debug", sinks: [stdoutSink()] });
logCorpus(logger);
await logger.close();
