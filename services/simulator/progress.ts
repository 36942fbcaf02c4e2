/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every 10 % otherwise (CI logs), silent when quiet.
 */
export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly startedAt = performance.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly label: string;

  constructor(label: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}) {
    this.label = label;
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.quiet = opts.quiet ?? false;
  }

  update(done: number, total: number, events: number): void {
    if (this.quiet || total <= 0) return;
    const share = Math.min(1, done / total);
    const elapsed = (performance.now() - this.startedAt) / 1_000;
    const rate = elapsed > 0 ? Math.round(events / elapsed) : 0;
    if (this.tty) {
      const now = performance.now();
      if (now - this.lastDraw < 100 && done < total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(share * width);
      const eta = share > 0 ? Math.round((elapsed / share) * (1 - share)) : 0;
      this.stream.write(
        `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ` +
          `${done}/${total} days  ${events.toLocaleString('en-US')} events  ${rate.toLocaleString('en-US')}/s  eta ${eta}s \u001b[K`,
      );
      if (done >= total) this.stream.write('\n');
      return;
    }
    const decile = Math.floor(share * 10);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(
        `${this.label}: ${decile * 10}% (${done}/${total} days, ${events} events, ${rate}/s)\n`,
      );
    }
  }
}
