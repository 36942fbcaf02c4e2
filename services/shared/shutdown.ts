import type { Logger } from './logger.ts';

type Closer = { name: string; close: () => Promise<unknown> | unknown };

/**
 * Graceful shutdown: closers run in reverse registration order (servers stop accepting before the
 * producer flushes, before pools close), each awaited, all bounded by one timeout.
 */
export class Shutdown {
  private readonly closers: Closer[] = [];
  private running: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly timeoutMs: number;

  constructor(log: Logger, timeoutMs: number) {
    this.log = log;
    this.timeoutMs = timeoutMs;
  }

  add(name: string, close: Closer['close']): void {
    this.closers.push({ name, close });
  }

  /**
   * Installs SIGTERM/SIGINT handlers that run the closers and exit, and logs an unhandled rejection or uncaught
   * exception as a fatal record before the process exits with 1 (Node's own report is not a structured log line, so
   * an instance that died of one left nothing to search for). No closers run then: the state is unknown, and what
   * was not committed is redelivered to the next instance.
   */
  installSignalHandlers(): void {
    const onFatal = (kind: string) => (err: unknown) => {
      this.log.fatal({ err, kind }, 'process failed');
      process.exit(1);
    };
    process.on('unhandledRejection', onFatal('unhandledRejection'));
    process.on('uncaughtException', onFatal('uncaughtException'));
    const onSignal = (signal: string) => {
      this.log.info({ signal }, 'shutting down');
      void this.run().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  run(): Promise<void> {
    this.running ??= this.closeAll();
    return this.running;
  }

  private async closeAll(): Promise<void> {
    const timer = setTimeout(() => {
      this.log.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, this.timeoutMs);
    timer.unref();
    let failed = false;
    for (const closer of [...this.closers].reverse()) {
      try {
        await closer.close();
        this.log.debug({ closer: closer.name }, 'closed');
      } catch (err) {
        failed = true;
        this.log.error({ err, closer: closer.name }, 'close failed');
      }
    }
    clearTimeout(timer);
    if (failed) throw new Error('shutdown had failures');
  }
}
