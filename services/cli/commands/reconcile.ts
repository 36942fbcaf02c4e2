import { openContext, parseInstant, table } from '../../datatools/index.ts';
import { reconcile, type Range, type Reconciliation } from '../../datatools/index.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

export const help = `usage: studystream reconcile [--from T] [--to T] [--json]

Compares the raw history in ClickHouse (the sink's copy of the topics, one row per event_id) with what the
stateful processors made of it: every (student, session_id) must be written (study_sessions) or live (Redis) with
the same distinct events and answers; events without a session id are the sessions processor's no_session drops;
the mastery processor's applied events against the history's attempts and material events; the per-student read
models of knowledge gaps and exam readiness (student_study_days, student_materials) and the topic reviews of review
adherence (topic_reviews) against the history under the mastery processor's rules (all-time only); late events and dead
letters by processor and reason. T is an ISO-8601 instant or epoch ms (sessions by their first event, events by
occurred_at); the default is everything. Exit code 0 when every session reconciles, 1 otherwise.
`;

function render(r: Reconciliation): string {
  const s = r.sessions;
  const lines = [
    'event topics (all time, client re-sends included)',
    table(
      ['TOPIC', 'RECORDS'],
      r.topics.map((t) => [t.topic, t.records]),
    ),
    'raw history (ClickHouse, distinct event_id)',
    table(
      ['FAMILY', 'EVENTS', 'WITH SESSION', 'WITHOUT (no_session)'],
      r.history.map((h) => [h.family, h.events, h.withSession, h.events - h.withSession]),
    ),
    'sessions',
    table(
      ['', 'HISTORY', 'SESSIONS'],
      [
        ['sessions (student, session_id)', s.inHistory, `${s.written} written + ${s.live} live`],
        ['events', s.eventsInHistory, s.eventsInSessions],
        ['answers', s.answersInHistory, s.answersInSessions],
        ['missing', '', s.missing],
        ['differing', '', s.differing],
      ],
    ),
    ...s.examples.map((e) => `  ${e}`),
    'mastery',
    table(
      ['', 'EVENTS'],
      [
        ['attempts + material events in history', r.mastery.eventsInHistory],
        ...r.mastery.dropped.map((d) => [`dropped: ${d.reason}`, d.n] as [string, number]),
        ['dead-lettered', r.mastery.deadLettered],
        ['expected to be applied', r.mastery.expected],
        ['applied (event_id claims)', r.mastery.applied],
      ],
    ),
    'per-student read models (student_study_days, student_materials)',
    r.studyReads === null
      ? '  not compared for a time range (all-time sums)\n'
      : table(
          ['', 'STUDENTS'],
          [
            ['in the history or the tables', r.studyReads.students],
            ['differing', r.studyReads.differing],
          ],
        ),
    ...(r.studyReads?.examples ?? []).map((e) => `  ${e}`),
    'topic reviews (topic_reviews, review adherence)',
    r.reviews === null
      ? '  not compared for a time range (all-time rows)\n'
      : table(
          ['', 'STUDENTS'],
          [
            ['in the history or the table', r.reviews.students],
            ['differing', r.reviews.differing],
          ],
        ),
    ...(r.reviews?.examples ?? []).map((e) => `  ${e}`),
    'late events',
    r.late.length === 0
      ? '  none\n'
      : table(
          ['PROCESSOR', 'REASON', 'EVENTS'],
          r.late.map((l) => [l.processor, l.reason, l.n]),
        ),
    'dead letters (all time)',
    r.deadLetters.length === 0
      ? '  none\n'
      : table(
          ['PROCESSOR', 'REASON', 'RECORDS'],
          r.deadLetters.map((d) => [d.processor, d.reason, d.n]),
        ),
    r.ok
      ? 'reconciled: every session of the history is written or live with all its events, and mastery applied every event it should'
      : 'NOT reconciled',
  ];
  return lines.join('\n') + '\n';
}

const command: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(help.trimEnd());
  const bound = (v: string | undefined, name: string) => {
    if (v === undefined) return null;
    const ms = parseInstant(v);
    if (ms === undefined) throw new UsageError(`--${name} must be an ISO-8601 time with zone or epoch ms`);
    return ms;
  };
  const range: Range = { from: bound(values.from, 'from'), to: bound(values.to, 'to') };
  const ctx = await openContext(process.env, 'reconcile');
  try {
    const r = await reconcile(ctx, range);
    process.stdout.write(values.json ? JSON.stringify(r, null, 2) + '\n' : render(r));
    if (!r.ok)
      process.stderr.write(
        `reconcile: ${r.sessions.missing} session(s) missing, ${r.sessions.differing} differing, ` +
          `${r.studyReads?.differing ?? 0} student read model(s) differing\n`,
      );
    return r.ok ? 0 : 1;
  } finally {
    await ctx.close();
  }
};
export default command;
