import { ProgressLine } from '../shared/progress.ts';

/** The simulator's progress: simulated days done, with the events sent so far and their rate. */
export class Progress {
  private readonly line: ProgressLine;
  private readonly startedAt = performance.now();

  constructor(label: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}) {
    this.line = new ProgressLine(label, { ...opts, rate: false });
  }

  update(done: number, total: number, events: number): void {
    if (total <= 0) return;
    const seconds = (performance.now() - this.startedAt) / 1_000;
    const rate = seconds > 0 ? Math.round(events / seconds) : 0;
    const extra = `(${done}/${total} days, ${events.toLocaleString('en-US')} events, ${rate.toLocaleString('en-US')}/s)`;
    this.line.update(done, total, extra, done >= total);
  }
}
