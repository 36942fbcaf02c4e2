import { createWriteStream, type WriteStream } from 'node:fs';
import type { LeafTopic } from './curriculum.ts';
import { expectedExamShare, MODEL, retrievability, type MemoryTrace } from './model.ts';
import type { Profile } from './profile.ts';
import type { AttemptTruth, StudentTruth } from './types.ts';

/**
 * Ground truth: what is true about the simulated students, which the analytics can only estimate. Each question
 * attempt's truth (the model's P(correct) and what it came from) is recorded by the student's behaviour as it
 * answers (student.ts); a student's final truth is computed here from their state at the end; TruthWriter writes
 * both as JSON lines (`simulate --truth FILE`).
 */

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * A student's truth at `atMs`: per topic the initial and final ability, the recall and stability of its memory
 * trace; the exam outcome (board-weighted expected share plus test-day noise `examNoise` in standard deviations).
 */
export function studentTruth(
  p: Profile,
  leaves: readonly LeafTopic[],
  theta: Float64Array,
  traces: readonly MemoryTrace[],
  atMs: number,
  examNoise: number,
): StudentTruth {
  const topics: StudentTruth['topics'] = {};
  const exam: Array<{ weight: number; theta: number; recall: number }> = [];
  let weighted = 0;
  leaves.forEach((leaf, i) => {
    const trace = traces[i]!;
    const recall = retrievability(trace, atMs);
    topics[leaf.id] = {
      theta_initial: round4(p.thetaInitial[i]!),
      theta_final: round4(theta[i]!),
      recall_final: round4(recall),
      stability_days: round4(trace.stability),
      reviews: trace.reviews,
    };
    exam.push({ weight: leaf.weight, theta: theta[i]!, recall });
    weighted += leaf.weight * (theta[i]! - MODEL.memoryWeight * (1 - recall));
  });
  const share = expectedExamShare(exam);
  const score = Math.min(1, Math.max(0, share + examNoise * MODEL.examNoiseSd));
  return {
    type: 'student',
    user_id: p.userId,
    index: p.index,
    general_ability: round4(p.generalAbility),
    learning_rate: round4(p.learningRate),
    diligence: round4(p.diligence),
    chronotype: p.chronotype,
    platform: p.platform,
    offline_prone: p.offlineProne,
    clock_skew_ms: p.clockSkewMs,
    topics,
    exam: {
      taken_at: atMs,
      weighted_ability: round4(weighted),
      expected_share: round4(share),
      score: round4(score),
      pass_share: MODEL.examPassShare,
      pass: score >= MODEL.examPassShare,
    },
  };
}

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
