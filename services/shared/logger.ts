import { pino, type Logger } from 'pino';

export type { Logger };

/** One structured JSON logger per process; `service` names the emitting service in every line. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.password'], remove: true },
  });
}
