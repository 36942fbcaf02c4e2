import { isOfflineSynced } from '../ingest/index.ts';
import {
  curriculum,
  OPTIONS,
  type Curriculum,
  type LeafTopic,
  type Material,
  type Question,
} from './curriculum.ts';
import {
  afterRetrieval,
  afterStudy,
  expectedExamShare,
  fatiguePenalty,
  initialTrace,
  learn,
  MODEL,
  pCorrect,
  retrievability,
  type MemoryTrace,
} from './model.ts';
import { hash32, Rng } from './prng.ts';
import type {
  AttemptTruth,
  ClientBatch,
  EventRecord,
  Platform,
  SimEvent,
  SimItem,
  SimOptions,
  StudentTruth,
} from './types.ts';
import type { EventFamily } from '../shared/kafka.ts';
import { etcZoneOfOffsetHours } from '../shared/timezone.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Stable pseudonymous id of student `index` in the cohort of `seed`. */
export function studentId(seed: number | string, index: number): string {
  return `sim-${hash32(`cohort:${seed}`).toString(16).padStart(8, '0').slice(0, 6)}-${String(index).padStart(5, '0')}`;
}

const CHRONOTYPES = [
  { name: 'lark', peak: 8, share: 0.25 },
  { name: 'intermediate', peak: 14, share: 0.45 },
  { name: 'owl', peak: 21, share: 0.3 },
] as const;

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

const TIMEZONES = [-8, -7, -6, -5, -5, -5, -4, 0, 1, 2, 5.5, 8];

/**
 * The IANA zone a student's device reports for the simulator's fixed offset (no daylight saving in the simulator,
 * so zones without it: Etc/GMT-N, and Asia/Kolkata for +5:30); sent as every event's time_zone.
 */
export function simTimeZone(offsetHours: number): string {
  return offsetHours === 5.5 ? 'Asia/Kolkata' : etcZoneOfOffsetHours(offsetHours);
}

const DEVICES: Record<
  Platform,
  { versions: string[]; agents: Array<{ ua: string; browser: string; os: string }> }
> = {
  WEB: {
    versions: ['web-3.4.2', 'web-3.4.1'],
    agents: [
      {
        ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
        browser: 'Chrome',
        os: 'Windows',
      },
      {
        ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
        browser: 'Safari',
        os: 'macOS',
      },
      {
        ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
        browser: 'Firefox',
        os: 'Linux',
      },
    ],
  },
  DESKTOP: {
    versions: ['desktop-2.9.0'],
    agents: [
      {
        ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) StudyStream/2.9.0 Chrome/124.0.0.0 Electron/30.0.0 Safari/537.36',
        browser: 'Electron',
        os: 'macOS',
      },
    ],
  },
  IOS: {
    versions: ['ios-3.4.0', 'ios-3.3.7'],
    agents: [
      {
        ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
        browser: 'Mobile Safari',
        os: 'iOS',
      },
    ],
  },
  ANDROID: {
    versions: ['android-3.4.0', 'android-3.2.5'],
    agents: [
      {
        ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
        browser: 'Chrome Mobile',
        os: 'Android',
      },
    ],
  },
};

/** A student's fixed traits, drawn once from the student's own random stream. */
export interface Profile {
  userId: string;
  index: number;
  generalAbility: number;
  learningRate: number;
  stamina: number;
  diligence: number;
  chronotype: 'lark' | 'intermediate' | 'owl';
  /** Preferred local hour of the first session (0-24, may exceed 24 for owls). */
  peakHour: number;
  tzOffsetHours: number;
  sessionMedianMin: number;
  extraSessionsMean: number;
  questionShare: number;
  reviewShare: number;
  secondsPerQuestion: number;
  aiCoachRate: number;
  confidencePrompted: boolean;
  playbackRate: number;
  platform: Platform;
  appVersion: string;
  userAgent: string;
  browser: string;
  os: string;
  offlineProne: boolean;
  offlineSessionProb: number;
  clockSkewMs: number;
  /** Systems in the order this student works through them (dedicated study blocks). */
  systemOrder: string[];
  systemBlockDays: number;
  thetaInitial: Float64Array;
}

export function drawProfile(
  seed: number | string,
  index: number,
  options: Pick<SimOptions, 'offlineRate'>,
  cur: Curriculum,
): Profile {
  const rng = Rng.derive(seed, 'profile', index);
  const g = rng.normal(0, 1);
  const systemOffset = new Map(cur.systems.map((s) => [s, rng.normal(0, 0.45)]));
  const thetaInitial = new Float64Array(cur.leaves.length);
  cur.leaves.forEach((leaf, i) => {
    thetaInitial[i] = 0.8 * g + systemOffset.get(leaf.system)! + rng.normal(0, 0.35) - 0.3;
  });
  const chrono = CHRONOTYPES[rng.weightedIndex(CHRONOTYPES.map((c) => c.share))]!;
  const offlineProne = rng.chance(options.offlineRate);
  const platform: Platform = offlineProne
    ? rng.chance(0.55)
      ? 'IOS'
      : 'ANDROID'
    : (['WEB', 'DESKTOP', 'IOS', 'ANDROID'] as const)[rng.weightedIndex([0.55, 0.12, 0.18, 0.15])]!;
  const device = DEVICES[platform];
  const agent = rng.pick(device.agents);
  const skewed = offlineProne && rng.chance(0.5);
  const skewMinutes = skewed
    ? (rng.chance(0.5) ? 1 : -1) * (rng.chance(0.4) ? 60 * rng.int(1, 10) : rng.int(10, 180))
    : 0;
  const systemOrder = [...cur.systems];
  for (let i = systemOrder.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [systemOrder[i], systemOrder[j]] = [systemOrder[j]!, systemOrder[i]!];
  }
  return {
    userId: studentId(seed, index),
    index,
    generalAbility: g,
    learningRate: rng.logNormal(1, 0.35),
    stamina: rng.logNormal(1, 0.3),
    diligence: Math.min(0.97, Math.max(0.35, rng.normal(0.72, 0.13) + 0.04 * g)),
    chronotype: chrono.name,
    peakHour: chrono.peak + rng.normal(0, 1),
    tzOffsetHours: rng.pick(TIMEZONES),
    sessionMedianMin: rng.logNormal(50, 0.3),
    extraSessionsMean: rng.uniform(0.2, 1.1),
    questionShare: rng.uniform(0.45, 0.75),
    reviewShare: rng.uniform(0.3, 0.6),
    secondsPerQuestion: rng.logNormal(70, 0.2),
    aiCoachRate: rng.uniform(0, 0.2),
    confidencePrompted: rng.chance(0.5),
    playbackRate: rng.pick([1, 1, 1.25, 1.5, 2]),
    platform,
    appVersion: rng.pick(device.versions),
    userAgent: agent.ua,
    browser: agent.browser,
    os: agent.os,
    offlineProne,
    offlineSessionProb: offlineProne ? rng.uniform(0.3, 0.7) : 0,
    clockSkewMs: skewMinutes * MIN,
    systemOrder,
    systemBlockDays: rng.int(4, 9),
    thetaInitial,
  };
}

type Delivery = Pick<SimOptions, 'duplicateRate' | 'maxOfflineDelayMs' | 'onlineFlushMs' | 'batchSize'>;

/**
 * A student's device: turns the events of the student's sessions into the requests the app would send. Online,
 * it flushes at `batchSize` events, when its oldest buffered event is `onlineFlushMs` old, and at session end.
 * Offline, it queues whole sessions and syncs them when connectivity returns (at most `maxOfflineDelayMs` after the
 * session ended, or earlier when the app is opened online again). Retries resend a batch as is.
 */
class Device {
  private buffer: SimEvent[] = [];
  private queue: SimEvent[] = [];
  private queueSyncAt = Number.POSITIVE_INFINITY;
  private seq = 0;
  private readonly p: Profile;
  private readonly rng: Rng;
  private readonly opts: Delivery;
  private readonly out: SimItem[];

  constructor(p: Profile, rng: Rng, opts: Delivery, out: SimItem[]) {
    this.p = p;
    this.rng = rng;
    this.opts = opts;
    this.out = out;
  }

  get hasQueue(): boolean {
    return this.queue.length > 0;
  }

  /** Syncs the offline queue if connectivity came back before `nowMs` (or at `nowMs` when forced). */
  syncDue(nowMs: number, force = false): void {
    if (this.queue.length === 0) return;
    if (!force && this.queueSyncAt > nowMs) return;
    const last = this.queue[this.queue.length - 1]!.record.occurred_at;
    const sentAt = Math.max(last + 1_000, Math.min(this.queueSyncAt, nowMs));
    const events = this.queue;
    this.queue = [];
    this.queueSyncAt = Number.POSITIVE_INFINITY;
    for (let i = 0; i < events.length; i += this.opts.batchSize) {
      this.send(events.slice(i, i + this.opts.batchSize), sentAt + (i / this.opts.batchSize) * 150, true);
    }
  }

  add(event: SimEvent, offline: boolean): void {
    if (offline) {
      this.queue.push(event);
      return;
    }
    const t = event.record.occurred_at;
    // the SDK's flush timer fired when the oldest buffered event became onlineFlushMs old
    const first = this.buffer[0]?.record.occurred_at;
    if (first !== undefined && t - first >= this.opts.onlineFlushMs) {
      const last = this.buffer[this.buffer.length - 1]!.record.occurred_at;
      this.flushOnline(
        Math.max(last, Math.min(t - 1, first + this.opts.onlineFlushMs + this.rng.uniform(0, 1_000))),
      );
    }
    this.buffer.push(event);
    if (this.buffer.length >= this.opts.batchSize) this.flushOnline(t + this.rng.uniform(50, 500));
  }

  /** Flushes what the device holds at the end of a session (online) or schedules the offline sync. */
  endSession(endMs: number, offline: boolean): void {
    if (offline) {
      const delay = Math.min(this.opts.maxOfflineDelayMs, Math.max(2 * MIN, this.rng.logNormal(3 * HOUR, 1)));
      this.queueSyncAt = Math.min(this.queueSyncAt, endMs + delay);
    } else if (this.buffer.length > 0) {
      this.flushOnline(endMs + this.rng.uniform(100, 1_500));
    }
  }

  private flushOnline(sentAt: number): void {
    const events = this.buffer;
    this.buffer = [];
    this.send(events, sentAt, false);
  }

  private send(events: SimEvent[], sentAt: number, offline: boolean): void {
    const sent = Math.round(sentAt);
    const base = {
      userId: this.p.userId,
      platform: this.p.platform,
      appVersion: this.p.appVersion,
      userAgent: this.p.userAgent,
      clockSkewMs: this.p.clockSkewMs,
      offline,
    };
    const latency = Math.round(Math.min(5_000, this.rng.logNormal(offline ? 250 : 80, 0.6)));
    const batch: ClientBatch = {
      ...base,
      batchId: `${this.p.userId}-b${++this.seq}`,
      duplicate: false,
      sentAt: sent,
      receivedAt: sent + latency,
      events: stamp(events, sent + latency, this.p.clockSkewMs, false),
    };
    this.out.push({ kind: 'batch', batch });
    if (this.rng.chance(this.opts.duplicateRate)) {
      const retryAt = sent + latency + Math.round(this.rng.logNormal(2_000, 0.5));
      const receivedAt = retryAt + Math.round(this.rng.logNormal(80, 0.6));
      this.out.push({
        kind: 'batch',
        batch: {
          ...base,
          batchId: `${batch.batchId}-retry`,
          duplicate: true,
          sentAt: retryAt,
          receivedAt,
          events: stamp(events, receivedAt, this.p.clockSkewMs, true),
        },
      });
    }
  }
}

/**
 * Records as Kafka holds them after ingest: received_at, and the client context ingest derives (clock correction
 * applied = server minus client clock; offline_synced by ingest's own rule, isOfflineSynced).
 */
function stamp(events: SimEvent[], receivedAt: number, skewMs: number, copy: boolean): SimEvent[] {
  const correction = skewMs === 0 ? 0 : -skewMs;
  const out = copy
    ? events.map((e) => ({
        family: e.family,
        record: { ...e.record, client: { ...(e.record.client as object) } },
      }))
    : events;
  for (const e of out) {
    e.record.received_at = receivedAt;
    const client = e.record.client as { offline_synced: boolean; clock_skew_ms: number };
    client.offline_synced = isOfflineSynced(receivedAt, e.record.occurred_at);
    client.clock_skew_ms = correction;
  }
  return out;
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

  truth(atMs: number, examNoise: number): StudentTruth {
    const p = this.profile;
    const topics: StudentTruth['topics'] = {};
    const exam: Array<{ weight: number; theta: number; recall: number }> = [];
    let weighted = 0;
    this.cur.leaves.forEach((leaf, i) => {
      const trace = this.traces[i]!;
      const recall = retrievability(trace, atMs);
      topics[leaf.id] = {
        theta_initial: round4(p.thetaInitial[i]!),
        theta_final: round4(this.theta[i]!),
        recall_final: round4(recall),
        stability_days: round4(trace.stability),
        reviews: trace.reviews,
      };
      exam.push({ weight: leaf.weight, theta: this.theta[i]!, recall });
      weighted += leaf.weight * (this.theta[i]! - MODEL.memoryWeight * (1 - recall));
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
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
