import { etcZoneOfOffsetHours } from '../shared/timezone.ts';
import type { Curriculum } from './curriculum.ts';
import { hash32, Rng } from './prng.ts';
import type { Platform, SimOptions } from './types.ts';

/**
 * A student's fixed traits (ability, pace, habits, chronotype, time zone, device and its clock), drawn once per
 * student from the student's own random stream.
 */

const MIN = 60_000;

/** Stable pseudonymous id of student `index` in the cohort of `seed`. */
export function studentId(seed: number | string, index: number): string {
  return `sim-${hash32(`cohort:${seed}`).toString(16).padStart(8, '0').slice(0, 6)}-${String(index).padStart(5, '0')}`;
}

const CHRONOTYPES = [
  { name: 'lark', peak: 8, share: 0.25 },
  { name: 'intermediate', peak: 14, share: 0.45 },
  { name: 'owl', peak: 21, share: 0.3 },
] as const;

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
