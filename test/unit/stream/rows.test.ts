import { describe, expect, it } from 'vitest';
import { dedupeWithinBatch, groupByTable, mapRecord } from '../../../services/stream/clickhouse-sink/rows.ts';

const base = {
  event_id: '6F1C6C9E-2F7B-4C43-9D1A-1A2B3C4D5E6F',
  user_id: 'stu-1',
  occurred_at: Date.UTC(2025, 2, 4, 10, 30, 15, 123),
  received_at: Date.UTC(2025, 2, 4, 10, 30, 16, 0),
  schema_version: 1,
  session_id: null,
  topic_ids: ['cardio', 'pharm'],
  client: null,
};

describe('row mapping', () => {
  it('stores the time zone with its offset at occurred_at; none, or an unknown one, is stored as unknown', () => {
    const row = (time_zone: unknown, occurred_at = base.occurred_at) => {
      const r = mapRecord('material-interactions', {
        ...base,
        occurred_at,
        time_zone,
        material_id: 'm1',
        material_type: 'TEXTBOOK',
        interaction_type: 'NOTE',
      });
      if (!r.ok) throw new Error(r.error);
      return { time_zone: r.value.row.time_zone, utc_offset_min: r.value.row.utc_offset_min };
    };
    expect(row('Europe/Berlin')).toEqual({ time_zone: 'Europe/Berlin', utc_offset_min: 60 });
    expect(row('Europe/Berlin', Date.UTC(2025, 6, 1))).toEqual({
      time_zone: 'Europe/Berlin',
      utc_offset_min: 120,
    });
    expect(row('Asia/Kolkata')).toEqual({ time_zone: 'Asia/Kolkata', utc_offset_min: 330 });
    expect(row(undefined)).toEqual({ time_zone: '', utc_offset_min: 0 }); // a record of the first schema version
    expect(row(null)).toEqual({ time_zone: '', utc_offset_min: 0 });
    expect(row('Mars/Olympus')).toEqual({ time_zone: '', utc_offset_min: 0 });
  });

  it('maps a question attempt: seconds plus millis, booleans as 0/1, nulls kept for numbers', () => {
    const r = mapRecord('question-attempts', {
      ...base,
      question_id: 'q1',
      selected_answer: null,
      is_correct: true,
      attempt_number: 1,
      time_to_answer_ms: 5400,
      confidence: null,
      difficulty: 0.4,
      exam_section: null,
      mode: 'TUTOR',
    });
    expect(r).toEqual({
      ok: true,
      value: {
        table: 'question_attempts',
        row: expect.objectContaining({
          event_id: '6f1c6c9e-2f7b-4c43-9d1a-1a2b3c4d5e6f',
          occurred_at: Date.UTC(2025, 2, 4, 10, 30, 15) / 1000,
          occurred_ms: 123,
          received_at: Date.UTC(2025, 2, 4, 10, 30, 16) / 1000,
          session_id: '',
          topic_ids: ['cardio', 'pharm'],
          selected_answer: '',
          is_correct: 1,
          attempt_number: 1,
          confidence: null,
          difficulty: 0.4,
          mode: 'TUTOR',
          platform: '',
        }),
      },
    });
  });

  it('flattens nested records of a study event and the client context', () => {
    const r = mapRecord('study-events', {
      ...base,
      event_type: 'AI_COACH_RESPONSE',
      material_id: null,
      material_type: null,
      duration_ms: 1200,
      end_reason: null,
      ai_coach: { interaction: 'EXPLAIN', prompt_tokens: 10, response_tokens: 200, helpful: false },
      api_call: null,
      client: {
        platform: 'IOS',
        app_version: '3.1',
        ip_hash: 'ab',
        browser: null,
        os: 'iOS',
        offline_synced: true,
        clock_skew_ms: -40,
      },
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.table).toBe('study_events');
    expect(r.value.row).toMatchObject({
      event_type: 'AI_COACH_RESPONSE',
      duration_ms: 1200,
      ai_interaction: 'EXPLAIN',
      ai_response_tokens: 200,
      ai_helpful: 0,
      api_method: '',
      platform: 'IOS',
      os: 'iOS',
      browser: '',
      offline_synced: 1,
      clock_skew_ms: -40,
    });
  });

  it('maps a material interaction', () => {
    const r = mapRecord('material-interactions', {
      ...base,
      material_id: 'm1',
      material_type: 'VIDEO',
      interaction_type: 'NOTE',
      progress: 0.5,
      position_ms: null,
      active_ms: 30000,
      text_length: 12,
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.row).toMatchObject({
      interaction_type: 'NOTE',
      progress: 0.5,
      position_ms: null,
      active_ms: 30000,
    });
  });

  it('rejects what cannot be stored', () => {
    expect(mapRecord('study-events', { ...base, event_id: 'nope' })).toEqual({
      ok: false,
      error: 'event_id is not a UUID',
    });
    expect(mapRecord('study-events', { ...base, user_id: '' }).ok).toBe(false);
    expect(mapRecord('study-events', { ...base, occurred_at: 0 }).ok).toBe(false);
    expect(mapRecord('study-events', { ...base, occurred_at: Date.UTC(2200, 0, 1) }).ok).toBe(false);
    expect(mapRecord('question-attempts', { ...base, is_correct: undefined }).ok).toBe(false);
  });
});

describe('batch helpers', () => {
  it('keeps the first row of each event_id', () => {
    const rows = [
      { event_id: 'a', user_id: 'u', occurred_at: 1, n: 1 },
      { event_id: 'b', user_id: 'u', occurred_at: 1, n: 2 },
      { event_id: 'a', user_id: 'u', occurred_at: 1, n: 3 },
    ];
    expect(dedupeWithinBatch(rows).map((r) => r.n)).toEqual([1, 2]);
  });
  it('groups rows by table in order', () => {
    const row = (id: string) => ({ event_id: id, user_id: 'u', occurred_at: 1 });
    const g = groupByTable([
      { table: 'study_events', row: row('1') },
      { table: 'question_attempts', row: row('2') },
      { table: 'study_events', row: row('3') },
    ]);
    expect([...g.keys()]).toEqual(['study_events', 'question_attempts']);
    expect(g.get('study_events')!.map((r) => r.event_id)).toEqual(['1', '3']);
  });
});

describe('retention arithmetic', async () => {
  const { expiredPartitions, oldestKeptMonth } =
    await import('../../../services/stream/clickhouse-sink/maintenance.ts');
  it('keeps the month holding the limit and everything newer', () => {
    expect(oldestKeptMonth(24, new Date(Date.UTC(2026, 5, 15)))).toBe(202406);
    expect(oldestKeptMonth(1, new Date(Date.UTC(2026, 0, 1)))).toBe(202512);
    expect(oldestKeptMonth(12, new Date(Date.UTC(2026, 11, 31)))).toBe(202512);
    const parts = ['202405', '202406', 'all', '202606'].map((partition) => ({
      table: 't',
      partition,
      rows: 1,
      bytes: 1,
    }));
    expect(expiredPartitions(parts, 24, new Date(Date.UTC(2026, 5, 15))).map((p) => p.partition)).toEqual([
      '202405',
    ]);
  });
});
