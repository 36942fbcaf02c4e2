import {
  curriculum,
  OPTIONS,
  type Curriculum,
  type LeafTopic,
  type Material,
  type Question,
} from './curriculum.ts';
import { Device, type Delivery } from './device.ts';
import {
  afterRetrieval,
  afterStudy,
  fatiguePenalty,
  initialTrace,
  learn,
  MODEL,
  pCorrect,
  retrievability,
  type MemoryTrace,
} from './model.ts';
import { simTimeZone, type Profile } from './profile.ts';
import type { Rng } from './prng.ts';
import { studentTruth } from './truth.ts';
import type { AttemptTruth, EventRecord, SimItem, SimOptions, StudentTruth } from './types.ts';
import type { EventFamily } from '../shared/kafka.ts';

/**
 * The student's behaviour: when they study, what (new topics by board weight and study block, due reviews,
 * materials, the AI coach) and how they answer (the learner model, model.ts). Their fixed traits are drawn in
 * profile.ts, their events are delivered by their device (device.ts), and what is true about them (the model's
 * probabilities, final abilities, the exam) is recorded as ground truth (truth.ts).
 */

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Logit bonus of each planted effect (SimOptions.effects 'planted'). */
export const PLANTED_LOGIT = 0.6;
/** The part of the day (services/domain/insights.ts partOfDay) a chronotype is at its best in, when planted. */
export const CHRONOTYPE_PART = { lark: 'morning', intermediate: 'afternoon', owl: 'evening' } as const;

function partOfDayOf(hour: number): string {
  if (hour >= 5 && hour < 12) return 'morning';
  if (hour >= 12 && hour < 17) return 'afternoon';
  if (hour >= 17 && hour < 22) return 'evening';
  return 'night';
}

interface Session {
  id: string;
  startMs: number;
  offline: boolean;
  /** Study minutes that count towards fatigue (breaks recover). */
  fatigueMinutes: number;
}

/**
 * One simulated student: traits, evolving knowledge and memory, and the device that delivers their events.
 * `simulateDay` appends the day's batches and attempt truths to the shared output array.
 */
export class StudentSim {
  readonly profile: Profile;
  private readonly cur: Curriculum;
  private rng: Rng;
  private readonly theta: Float64Array;
  private readonly traces: MemoryTrace[];
  private readonly started = new Map<number, { nextReviewAt: number; intervalDays: number }>();
  private readonly attempts = new Map<string, number>();
  private readonly materialProgress = new Map<string, number>();
  private readonly device: Device;
  private readonly out: SimItem[];
  private readonly startMs: number;
  private horizonMs: number;
  private busyUntil: number;
  private lastEventAt = 0;
  private learningTopic = -1;
  private readonly effects: NonNullable<SimOptions['effects']>;
  /** First note or highlight per topic id (planted note effect). */
  private readonly notedAt = new Map<string, number>();

  constructor(
    profile: Profile,
    rng: Rng,
    opts: Pick<SimOptions, 'startMs' | 'days' | 'effects'> & Delivery,
    out: SimItem[],
    cur: Curriculum = curriculum(),
  ) {
    this.profile = profile;
    this.cur = cur;
    this.rng = rng;
    this.out = out;
    this.startMs = opts.startMs;
    this.horizonMs = opts.startMs + opts.days * DAY;
    this.theta = Float64Array.from(profile.thetaInitial);
    this.traces = cur.leaves.map(() => initialTrace(opts.startMs));
    this.device = new Device(profile, rng.fork('device'), opts, out);
    this.busyUntil = opts.startMs;
    this.effects = opts.effects ?? 'natural';
  }

  /** Extends the horizon (live mode keeps a student going past the simulated days). */
  setHorizon(ms: number): void {
    this.horizonMs = ms;
  }

  /**
   * Replaces the student's random stream. The live demo calls it after replaying a student's history, so events
   * generated after a restart get fresh ids instead of repeating the previous run's.
   */
  reseed(rng: Rng): void {
    this.rng = rng;
  }

  get lastActivityAt(): number {
    return this.busyUntil;
  }

  /** Simulates day `day` (0-based) of the cohort's calendar. */
  simulateDay(day: number, totalDays: number): void {
    const p = this.profile;
    const dayStart = this.startMs + day * DAY;
    const localMidnight = dayStart - p.tzOffsetHours * HOUR;
    const weekday = new Date(localMidnight + p.tzOffsetHours * HOUR).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const ramp = 0.85 + 0.15 * (day / Math.max(1, totalDays - 1));
    const studies = this.rng.chance(p.diligence * (weekend ? 0.75 : 1) * ramp);
    if (!studies) {
      this.device.syncDue(dayStart + DAY);
      return;
    }
    const count = Math.min(4, 1 + this.rng.poisson(p.extraSessionsMean));
    const starts: number[] = [];
    for (let i = 0; i < count; i++) {
      const hour = Math.min(
        25.5,
        Math.max(5, p.peakHour + (i === 0 ? 0 : this.rng.uniform(-5, 5)) + this.rng.normal(0, 1.5)),
      );
      starts.push(localMidnight + hour * HOUR);
    }
    starts.sort((x, y) => x - y);
    for (const s of starts) {
      const start = Math.max(Math.round(s), this.busyUntil + Math.round(this.rng.uniform(30, 90) * MIN));
      if (start >= this.horizonMs - 10 * MIN) break;
      this.runSession(start, day);
    }
    this.device.syncDue(dayStart + DAY);
  }

  /** Runs one session starting at `startMs` (live mode calls this directly). Returns its end. */
  runSession(startMs: number, day: number, targetMinutes?: number): number {
    const p = this.profile;
    this.device.syncDue(startMs);
    const offline = this.device.hasQueue || (p.offlineProne && this.rng.chance(p.offlineSessionProb));
    const session: Session = { id: this.rng.uuid(), startMs, offline, fatigueMinutes: 0 };
    let t = startMs;
    t = this.studyEvent(session, t, 'SESSION_START', {});
    const target =
      (targetMinutes ?? Math.min(200, Math.max(10, this.rng.logNormal(p.sessionMedianMin, 0.4)))) * MIN;
    const focus = p.systemOrder[Math.floor(day / p.systemBlockDays) % p.systemOrder.length]!;
    let activities = 0;
    while (t < startMs + target && t < this.horizonMs - 2 * MIN) {
      if (activities > 0 && this.rng.chance(0.12)) {
        t = this.studyEvent(session, t + this.rng.uniform(2, 20) * 1_000, 'SESSION_PAUSE', {});
        const breakMin = Math.min(30, Math.max(1, this.rng.logNormal(6, 0.5)));
        session.fatigueMinutes = Math.max(0, session.fatigueMinutes - breakMin);
        t = this.studyEvent(session, t + breakMin * MIN, 'SESSION_RESUME', {});
      }
      const before = t;
      if (this.rng.chance(p.questionShare)) t = this.questionBlock(session, t, focus, startMs + target);
      else t = this.materialBlock(session, t, focus);
      if (this.rng.chance(p.aiCoachRate)) t = this.aiCoach(session, t);
      session.fatigueMinutes += (t - before) / MIN;
      activities += 1;
    }
    let reason: string;
    const r = this.rng.next();
    if (p.platform === 'IOS' || p.platform === 'ANDROID')
      reason = r < 0.35 ? 'APP_BACKGROUND' : r < 0.9 ? 'USER' : 'TIMEOUT';
    else reason = r < 0.82 ? 'USER' : r < 0.95 ? 'TIMEOUT' : 'LOGOUT';
    const endAt = reason === 'TIMEOUT' ? t + 15 * MIN : t + this.rng.uniform(1, 10) * 1_000;
    t = this.studyEvent(session, endAt, 'SESSION_END', {
      duration_ms: Math.round(endAt - startMs),
      end_reason: reason,
    });
    this.device.endSession(t, offline);
    this.busyUntil = t;
    return t;
  }

  /** Sends whatever the device still holds (end of the simulation). */
  finish(atMs: number): void {
    this.device.syncDue(atMs, true);
  }

  // ---- review policy ------------------------------------------------------------------------------------

  /**
   * Picks the topic of the next block: a due review (the app's schedule says so) with probability reviewShare,
   * otherwise a new topic drawn by board weight, favouring the system of the current study block.
   */
  private chooseTopic(t: number, focus: string): { index: number; review: boolean } {
    const due: Array<[number, number]> = [];
    for (const [i, s] of this.started) if (s.nextReviewAt <= t) due.push([i, t - s.nextReviewAt]);
    if (due.length > 0 && this.rng.chance(this.profile.reviewShare)) {
      due.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      return { index: due[this.rng.int(0, Math.min(2, due.length - 1))]![0], review: true };
    }
    const leaves = this.cur.leaves;
    const weights = leaves.map((l, i) => (this.started.has(i) ? 0 : l.weight * (l.system === focus ? 6 : 1)));
    if (weights.some((w) => w > 0)) return { index: this.rng.weightedIndex(weights), review: false };
    return { index: this.rng.weightedIndex(leaves.map((l) => l.weight)), review: true };
  }

  private markStarted(index: number, t: number): void {
    if (!this.started.has(index)) this.started.set(index, { nextReviewAt: t + DAY, intervalDays: 1 });
  }

  // ---- activities ---------------------------------------------------------------------------------------

  private questionBlock(session: Session, t0: number, focus: string, sessionEnd: number): number {
    const p = this.profile;
    const { index, review } = this.chooseTopic(t0, focus);
    const leaf = this.cur.leaves[index]!;
    this.markStarted(index, t0);
    const mode = review ? 'REVIEW' : this.rng.chance(0.6) ? 'TUTOR' : 'TIMED';
    const n = this.rng.int(5, review ? 12 : 20);
    let t = t0;
    let correctCount = 0;
    for (let i = 0; i < n && t < sessionEnd + 10 * MIN && t < this.horizonMs - 2 * MIN; i++) {
      const q = this.pickQuestion(leaf);
      const attempt = (this.attempts.get(q.id) ?? 0) + 1;
      this.attempts.set(q.id, attempt);
      const trace = this.traces[index]!;
      const recall = retrievability(trace, t);
      const minutes = session.fatigueMinutes + (t - t0) / MIN;
      const effects = this.effects;
      const fatigue =
        effects === 'none' ? 0 : fatiguePenalty(minutes, p.stamina) * (effects === 'planted' ? 3 : 1);
      let bonus = 0;
      if (effects === 'planted') {
        const localHour = new Date(t + p.tzOffsetHours * HOUR).getUTCHours();
        if (partOfDayOf(localHour) === CHRONOTYPE_PART[p.chronotype]) bonus += PLANTED_LOGIT;
        const noted = this.notedAt.get(leaf.id);
        if (noted !== undefined && noted <= t - DAY) bonus += PLANTED_LOGIT;
      }
      const prob = pCorrect(q, this.theta[index]! + bonus, recall, fatigue);
      const skipped = this.rng.chance(0.01);
      const correct = !skipped && this.rng.chance(prob);
      const slow = (1 + 0.25 * q.b) * (correct ? 1 : 1.25) * (1 + (0.3 * fatigue) / MODEL.fatiguePerHour);
      const tta = Math.round(
        Math.min(
          600_000,
          Math.max(5_000, this.rng.logNormal(p.secondsPerQuestion * 1_000 * Math.max(0.4, slow), 0.35)),
        ),
      );
      const answeredAt = t + tta;
      const selected = skipped
        ? null
        : correct
          ? q.correctOption
          : this.rng.pick(OPTIONS.filter((o) => o !== q.correctOption));
      const topicIds =
        leaf.related.length > 0 && this.rng.chance(0.15) ? [leaf.id, this.rng.pick(leaf.related)] : [leaf.id];
      const record = this.base(session, answeredAt);
      Object.assign(record, {
        question_id: q.id,
        topic_ids: topicIds,
        selected_answer: selected,
        is_correct: correct,
        attempt_number: attempt,
        time_to_answer_ms: tta,
        confidence: p.confidencePrompted
          ? Math.min(5, Math.max(1, Math.round(1 + 4 * prob + this.rng.normal(0, 0.7))))
          : null,
        difficulty: q.difficulty,
        exam_section: q.examSection,
        mode,
      });
      this.emit(session, 'question-attempts', record);
      const truth: AttemptTruth = {
        type: 'attempt',
        event_id: record.event_id,
        user_id: p.userId,
        topic_id: leaf.id,
        question_id: q.id,
        occurred_at: record.occurred_at,
        p_correct: prob,
        recall,
        stability_days: trace.stability,
        theta: this.theta[index]!,
        fatigue,
        a: q.a,
        b: q.b,
        correct,
      };
      this.out.push({ kind: 'truth', truth });
      this.traces[index] = afterRetrieval(trace, answeredAt, recall, correct);
      this.theta[index] = learn(this.theta[index]!, MODEL.learnPerQuestion * p.learningRate);
      if (correct) correctCount += 1;
      // tutor and review modes show the explanation after each answer
      t =
        record.occurred_at +
        (mode === 'TIMED' ? this.rng.uniform(1, 4) * 1_000 : this.rng.logNormal(35_000, 0.5));
    }
    // the app's own schedule (what the student sees as "due"), not the true memory model
    const s = this.started.get(index)!;
    const accuracy = correctCount / Math.max(1, n);
    s.intervalDays = accuracy >= 0.7 ? Math.min(60, s.intervalDays * 2.5) : 1;
    s.nextReviewAt = t + s.intervalDays * DAY;
    return t;
  }

  private pickQuestion(leaf: LeafTopic): Question {
    const unseen = leaf.questions.filter((q) => !this.attempts.has(q.id));
    if (unseen.length > 0 && this.rng.chance(0.85)) return this.rng.pick(unseen);
    return this.rng.pick(leaf.questions);
  }

  private materialBlock(session: Session, t0: number, focus: string): number {
    const p = this.profile;
    let index = this.learningTopic;
    if (
      index < 0 ||
      this.cur.leaves[index]!.materials.every((m) => (this.materialProgress.get(m.id) ?? 0) >= 1) ||
      this.rng.chance(0.3)
    ) {
      index = this.chooseTopic(t0, focus).index;
      this.learningTopic = index;
    }
    const leaf = this.cur.leaves[index]!;
    this.markStarted(index, t0);
    const open = leaf.materials.filter((m) => (this.materialProgress.get(m.id) ?? 0) < 1);
    const material: Material = open.length > 0 ? this.rng.pick(open) : this.rng.pick(leaf.materials);
    let progress = this.materialProgress.get(material.id) ?? 0;
    if (progress >= 1) progress = 0; // re-reading from the start
    const topicIds = [leaf.id];
    let t = this.studyEvent(session, t0, 'MATERIAL_OPEN', {
      material_id: material.id,
      material_type: material.kind,
      topic_ids: topicIds,
    });
    const opened = t;
    const video = material.kind === 'VIDEO';
    const speed = video ? p.playbackRate : this.rng.logNormal(1, 0.15);
    const plannedMs = Math.min(45 * MIN, Math.max(2 * MIN, this.rng.logNormal(12 * MIN, 0.5)));
    const startProgress = progress;
    let last = t;
    while (t - opened < plannedMs && progress < 1) {
      const step = video ? this.rng.uniform(60, 120) * 1_000 : this.rng.uniform(2, 4) * MIN;
      t += step;
      progress = Math.min(1, progress + (step * speed) / material.lengthMs);
      const record = this.base(session, t);
      Object.assign(record, {
        material_id: material.id,
        material_type: material.kind,
        topic_ids: topicIds,
        interaction_type: video ? 'VIDEO_POSITION' : 'READ_PROGRESS',
        progress: Math.round(progress * 1000) / 1000,
        position_ms: video ? Math.round(progress * material.lengthMs) : null,
        active_ms: Math.round(t - last),
        text_length: null,
      });
      this.emit(session, 'material-interactions', record);
      t = record.occurred_at;
      last = t;
      const annotation = this.rng.next();
      if (annotation < (video ? 0.03 : 0.15))
        t = this.annotate(session, t, material, topicIds, 'HIGHLIGHT', this.rng.int(20, 300));
      else if (annotation < (video ? 0.1 : 0.21))
        t = this.annotate(session, t, material, topicIds, 'NOTE', this.rng.int(40, 1200));
    }
    this.materialProgress.set(material.id, progress);
    t = this.studyEvent(session, t + this.rng.uniform(2, 30) * 1_000, 'MATERIAL_CLOSE', {
      material_id: material.id,
      material_type: material.kind,
      topic_ids: topicIds,
      duration_ms: Math.round(t - opened),
    });
    const share = Math.max(0, progress - startProgress);
    this.traces[index] = afterStudy(this.traces[index]!, t, share);
    this.theta[index] = learn(this.theta[index]!, MODEL.learnPerMaterial * share * p.learningRate);
    return t;
  }

  private annotate(
    session: Session,
    t0: number,
    material: Material,
    topicIds: string[],
    type: string,
    length: number,
  ): number {
    const t = t0 + this.rng.uniform(10, 90) * 1_000;
    for (const id of topicIds) if (!this.notedAt.has(id)) this.notedAt.set(id, t);
    const record = this.base(session, t);
    Object.assign(record, {
      material_id: material.id,
      material_type: material.kind,
      topic_ids: topicIds,
      interaction_type: type,
      progress: null,
      position_ms: null,
      active_ms: null,
      text_length: length,
    });
    this.emit(session, 'material-interactions', record);
    return record.occurred_at;
  }

  private aiCoach(session: Session, t0: number): number {
    const interaction = this.rng.pick(['EXPLAIN', 'EXPLAIN', 'QUIZ', 'SUMMARIZE', 'HINT', 'PLAN']);
    const topicIds = this.learningTopic >= 0 ? [this.cur.leaves[this.learningTopic]!.id] : [];
    const promptTokens = this.rng.int(8, 120);
    let t = this.studyEvent(session, t0 + this.rng.uniform(5, 30) * 1_000, 'AI_COACH_QUERY', {
      topic_ids: topicIds,
      ai_coach: { interaction, prompt_tokens: promptTokens, response_tokens: 0, helpful: null },
    });
    const duration = Math.round(this.rng.uniform(1.5, 12) * 1_000);
    t = this.studyEvent(session, t + duration, 'AI_COACH_RESPONSE', {
      topic_ids: topicIds,
      duration_ms: duration,
      ai_coach: {
        interaction,
        prompt_tokens: promptTokens,
        response_tokens: this.rng.int(80, 900),
        helpful: this.rng.chance(0.4) ? this.rng.chance(0.8) : null,
      },
    });
    return t + this.rng.uniform(20, 120) * 1_000;
  }

  // ---- records ------------------------------------------------------------------------------------------

  /** The envelope of a new event at `t` (kept strictly after the student's previous event). */
  private base(session: Session, t: number): EventRecord {
    const at = Math.max(Math.round(t), this.lastEventAt + 1);
    this.lastEventAt = at;
    const p = this.profile;
    return {
      event_id: this.rng.uuid(),
      user_id: p.userId,
      occurred_at: at,
      received_at: 0,
      schema_version: 1,
      session_id: session.id,
      time_zone: simTimeZone(p.tzOffsetHours),
      client: {
        platform: p.platform,
        app_version: p.appVersion,
        ip_hash: null,
        browser: p.browser,
        os: p.os,
        offline_synced: false,
        clock_skew_ms: 0,
      },
    };
  }

  private studyEvent(session: Session, t: number, type: string, fields: Record<string, unknown>): number {
    const record = this.base(session, t);
    Object.assign(record, {
      event_type: type,
      topic_ids: [],
      material_id: null,
      material_type: null,
      duration_ms: null,
      end_reason: null,
      ai_coach: null,
      api_call: null,
      ...fields,
    });
    this.emit(session, 'study-events', record);
    return record.occurred_at;
  }

  private emit(session: Session, family: EventFamily, record: EventRecord): void {
    this.device.add({ family, record }, session.offline);
  }

  // ---- ground truth -------------------------------------------------------------------------------------

  /** What is true of the student at `atMs`: per-topic ability and memory, and the exam outcome (truth.ts). */
  truth(atMs: number, examNoise: number): StudentTruth {
    return studentTruth(this.profile, this.cur.leaves, this.theta, this.traces, atMs, examNoise);
  }
}
