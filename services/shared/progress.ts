/**
 * A progress line on stderr for long CLI runs (simulate, import, replay, rebuild): done/total, rate and ETA. Redrawn in place on a terminal, one line
 * every 10 % otherwise (logs), silent when quiet.
 */
export class ProgressLine {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly startedAt = performance.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly label: string;

  private readonly rate: boolean;

  /** `rate: false` when the caller puts its own rate and ETA into `extra`. */
  constructor(label: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream; rate?: boolean } = {}) {
    this.label = label;
    this.rate = opts.rate ?? true;
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.quiet = opts.quiet ?? false;
  }

  /** `done` and `total` in the unit of the bar (bytes, records); `extra` is appended (e.g. "1,200 events"). */
  update(done: number, total: number, extra = '', final = false): void {
    if (this.quiet) return;
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (performance.now() - this.startedAt) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
    const tail = this.rate ? `  ${formatRate(rate)}  eta ${formatDuration(eta)}` : '';
    const text = `${this.label} ${(share * 100).toFixed(0).padStart(3)}% ${extra}${tail}`;
    if (this.tty) {
      const now = performance.now();
      if (!final && now - this.lastDraw < 150) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round(share * width);
      this.stream.write(
        `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${text.slice(this.label.length)}\u001b[K`,
      );
      if (final) this.stream.write('\n');
      return;
    }
    const decile = Math.floor(share * 10);
    if (decile > this.lastDecile || final) {
      this.lastDecile = decile;
      this.stream.write(`${text}\n`);
    }
  }
}

export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
