import { createWriteStream, type WriteStream } from 'node:fs';
import type { AttemptTruth, StudentTruth } from './types.ts';

/**
 * Writes the ground truth as JSON lines: one `{"type":"attempt",...}` per question attempt (keyed by event_id: the
 * model's P(correct), the recall and ability behind it) and one `{"type":"student",...}` per student at the end (true
 * ability per topic, exam outcome). Back-pressure aware: `write` resolves when the stream can take more.
 */
export class TruthWriter {
  private readonly stream: WriteStream;
  private pending = '';

  constructor(file: string) {
    this.stream = createWriteStream(file, { encoding: 'utf8' });
  }

  async write(truth: AttemptTruth | StudentTruth): Promise<void> {
    this.pending += `${JSON.stringify(truth)}\n`;
    if (this.pending.length < 1 << 16) return;
    await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = this.pending;
    this.pending = '';
    if (!this.stream.write(chunk)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  async close(): Promise<void> {
    if (this.pending) await this.flush();
    await new Promise<void>((resolve, reject) =>
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}
