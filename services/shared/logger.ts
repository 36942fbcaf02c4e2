import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Where log lines go: JSON lines on stdout, or pino-pretty's human-readable lines when LOG_FORMAT=pretty, or
 * LOG_FORMAT=auto (default) and stdout is a terminal. pino-pretty is a dev dependency: without it (a production
 * install) the lines stay JSON.
 */
export function logDestination(
  format = process.env.LOG_FORMAT ?? 'auto',
  isTty = process.stdout.isTTY === true,
): DestinationStream | undefined {
  if (format !== 'pretty' && !(format === 'auto' && isTty)) return undefined;
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (opts: object) => DestinationStream;
    return pretty({
      colorize: isTty,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      messageFormat: '{service}: {msg}',
    });
  } catch {
    return undefined;
  }
}

/** One structured logger per process; `service` names the emitting service in every line. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.password'], remove: true },
  };
  const destination = logDestination();
  return destination ? pino(options, destination) : pino(options);
}
