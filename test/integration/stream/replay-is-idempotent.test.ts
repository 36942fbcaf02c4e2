import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, teardown } from '../../support/isolated.ts';
import {
  caughtUp,
  harness,
  makeEvents,
  observed,
  publishInChunks,
  resetToEarliest,
  startSink,
  waitFor,
  type StreamHarness,
} from './support.ts';

/**
 * Exactness under re-sends and replays: every event is produced twice, the sink drains the topics, then the
 * consumer group is reset to the beginning and everything is replayed. The raw tables must hold each event once
 * (count() = uniqExact(event_id)) and every rollup must give the exact sums, before any background merge.
 */
describe('clickhouse-sink: duplicates and replays', () => {
  const iso = isolatedEnv('replay');
  let h: StreamHarness;
  const { events, expected } = makeEvents({
    users: 12,
    perUser: 60,
    startMs: Date.UTC(2025, 0, 20),
    spanDays: 20,
  });
  const group = `${iso.id}-sink`;

  beforeAll(async () => {
    h = await harness(iso);
  });
  afterAll(async () => {
    await h?.close();
    await teardown(iso);
  });

  const check = async () => {
    const o = await observed(h.clickhouse);
    for (const [table, n] of Object.entries(expected.perTable)) {
      expect(o.raw[table], table).toEqual({ rows: n, events: n });
    }
    expect(o.daily).toMatchObject({
      questions: expected.questions,
      correct: expected.correct,
      firstAttemptCorrect: expected.firstAttemptCorrect,
      studyMs: expected.studyMs,
      notes: expected.notes,
      activeMs: expected.activeMs,
      events: events.length,
    });
    // Each question has two topics: per-topic rollups count it once per topic.
    expect(o.topicQuestions).toBe(expected.questions * 2);
    expect(o.userTopicQuestions).toBe(expected.questions * 2);
    expect(o.hourlyEvents).toBe(events.length);
    // The plain-number rollups of clickhouse/004 hold the same figures.
    expect(o.plain).toEqual({
      daily: o.daily,
      userTopicQuestions: o.userTopicQuestions,
      hourlyEvents: o.hourlyEvents,
    });
  };

  it('stores every event once when each was produced twice', async () => {
    await publishInChunks(h, events);
    await publishInChunks(h, [...events].reverse());
    const sink = await startSink(h, group);
    try {
      await waitFor('sink caught up', () => caughtUp(h, group), 90_000);
    } finally {
      await sink.stop();
    }
    await check();
  });

  it('stays exact after the group is reset to the beginning and replays everything', async () => {
    await resetToEarliest(h, group);
    expect(await caughtUp(h, group)).toBe(false);
    const sink = await startSink(h, group);
    try {
      await waitFor('replay caught up', () => caughtUp(h, group), 90_000);
    } finally {
      await sink.stop();
    }
    await check();
  });
});
