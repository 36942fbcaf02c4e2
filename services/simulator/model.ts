/**
 * The simulator's learner model: pure functions and their parameters (see services/simulator/README.md).
 *
 * Answer correctness (item response + memory):
 *   P(correct) = c + (1 − c) · σ(a · (θ − m · (1 − R) − φ − b))
 *   θ  latent ability of the student on the topic (logits), a and b the item's discrimination and difficulty
 *      (two-parameter logistic model), c the guessing floor of a five-option question (0.2),
 *   R  retrievability of the topic's memory trace at the time of the attempt (below), m its weight: a fully
 *      forgotten topic costs m logits of effective ability, a freshly reviewed one nothing,
 *   φ  fatigue penalty of the current session (below).
 *
 * Forgetting (Ebbinghaus exponential, parametrised like FSRS): R(Δt) = 0.9^(Δt / S), where Δt is the time since
 * the topic's last review and S the stability in days: the interval after which recall falls to 90 %.
 * Each review changes S:
 *   success: S ← S · (1 + γ0 + γ · (1 − R))  (multiplicative growth, larger when retrieval was harder: spacing effect)
 *   failure: S ← max(S_min, S · λ)              (lapse; the explanation re-encodes the topic, so Δt restarts)
 *   reading/video on the topic: S ← S · (1 + ρ · share read), Δt restarts.
 * Learning: θ ← θ + η · learning_rate · σ(θ_cap − θ) per question answered with feedback (η_q) and per share of a
 * material studied (η_m); the σ term gives diminishing returns near the ceiling θ_cap.
 *
 * Fatigue: φ = κ · max(0, minutes since the session started − warm-up) / 60 / stamina; answers also slow down by
 * the factor (1 + 0.3 · φ / κ).
 */
export const MODEL = {
  /** Guessing floor of a five-option single-best-answer question. */
  guess: 0.2,
  /** Logits of effective ability lost when a topic is completely forgotten (R = 0). */
  memoryWeight: 1.2,
  /** Target retention that defines stability: R(S) = 0.9. */
  retentionAtStability: 0.9,
  /** Initial stability (days) of a topic the student has not reviewed during the simulation. */
  initialStability: 1.5,
  /** Days since the last (pre-simulation) exposure of a never-reviewed topic: R ≈ 0.9^(30/1.5) ≈ 0.12. */
  priorExposureAgeDays: 30,
  /** Stability growth on success: S · (1 + γ0 + γ · (1 − R)). */
  stabilityGrowthBase: 0.15,
  stabilityGrowthSpacing: 2.5,
  /** Stability multiplier on a lapse, and its floor (days). */
  lapseFactor: 0.55,
  minStability: 0.25,
  maxStability: 365,
  /** Stability growth per whole material studied. */
  materialStabilityGrowth: 0.5,
  /** Ability gained per question answered with feedback, and per whole material studied (before rate, ceiling). */
  learnPerQuestion: 0.025,
  learnPerMaterial: 0.2,
  abilityCeiling: 3,
  /** Fatigue: logits lost per hour of study beyond the warm-up (for stamina 1). */
  fatiguePerHour: 0.35,
  fatigueWarmupMinutes: 40,
  /** Exam: a board-weighted form of items with b ~ examDifficulty; pass when the expected share correct ≥ cut. */
  examItemDifficulty: 0,
  examNoiseSd: 0.035,
  examPassShare: 0.5,
} as const;

export type ModelParams = typeof MODEL;

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

const DAY_MS = 86_400_000;

/** Memory trace of one student on one topic. */
export interface MemoryTrace {
  /** Stability in days. */
  stability: number;
  /** Time of the last review (epoch ms). */
  lastReviewAt: number;
  reviews: number;
}

export function initialTrace(simStartMs: number, p: ModelParams = MODEL): MemoryTrace {
  return {
    stability: p.initialStability,
    lastReviewAt: simStartMs - p.priorExposureAgeDays * DAY_MS,
    reviews: 0,
  };
}

/** Retrievability R ∈ (0, 1] of a trace at time `atMs`: 0.9^(Δt/S). */
export function retrievability(trace: MemoryTrace, atMs: number, p: ModelParams = MODEL): number {
  const days = Math.max(0, atMs - trace.lastReviewAt) / DAY_MS;
  return Math.pow(p.retentionAtStability, days / trace.stability);
}

/** Fatigue penalty φ (logits) after `minutesInSession` minutes of study. */
export function fatiguePenalty(minutesInSession: number, stamina: number, p: ModelParams = MODEL): number {
  return (p.fatiguePerHour * Math.max(0, minutesInSession - p.fatigueWarmupMinutes)) / 60 / stamina;
}

/** The model's probability of a correct answer. */
export function pCorrect(
  item: { a: number; b: number },
  theta: number,
  recall: number,
  fatigue: number,
  p: ModelParams = MODEL,
): number {
  return (
    p.guess + (1 - p.guess) * sigmoid(item.a * (theta - p.memoryWeight * (1 - recall) - fatigue - item.b))
  );
}

/** The trace after a retrieval attempt at `atMs` (recall was `recall` just before it). Returns a new trace. */
export function afterRetrieval(
  trace: MemoryTrace,
  atMs: number,
  recall: number,
  correct: boolean,
  p: ModelParams = MODEL,
): MemoryTrace {
  const stability = correct
    ? Math.min(
        p.maxStability,
        trace.stability * (1 + p.stabilityGrowthBase + p.stabilityGrowthSpacing * (1 - recall)),
      )
    : Math.max(p.minStability, trace.stability * p.lapseFactor);
  return { stability, lastReviewAt: atMs, reviews: trace.reviews + 1 };
}

/** The trace after studying `share` (0..1) of a material on the topic at `atMs`. */
export function afterStudy(
  trace: MemoryTrace,
  atMs: number,
  share: number,
  p: ModelParams = MODEL,
): MemoryTrace {
  return {
    stability: Math.min(p.maxStability, trace.stability * (1 + p.materialStabilityGrowth * share)),
    lastReviewAt: atMs,
    reviews: trace.reviews,
  };
}

/** Ability gain from `amount` units of learning (diminishing near the ceiling). */
export function learn(theta: number, amount: number, p: ModelParams = MODEL): number {
  return theta + amount * sigmoid(p.abilityCeiling - theta);
}

/**
 * Expected share correct on a board-weighted exam form taken at `atMs`: Σ_k w_k · P(correct | θ_k, R_k(at), b = b_exam).
 * `weights` should sum to 1.
 */
export function expectedExamShare(
  topics: ReadonlyArray<{ weight: number; theta: number; recall: number }>,
  p: ModelParams = MODEL,
): number {
  let share = 0;
  let total = 0;
  for (const t of topics) {
    share += t.weight * pCorrect({ a: 1, b: p.examItemDifficulty }, t.theta, t.recall, 0, p);
    total += t.weight;
  }
  return total > 0 ? share / total : 0;
}
