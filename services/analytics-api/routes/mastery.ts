import { ApiError } from '../errors.ts';
import {
  decodeMasteryCursor,
  encodeMasteryCursor,
  masteryListQuery,
  masteryTopicParams,
  masteryTopicQuery,
} from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { addDays, round, utcDay } from '../compute.ts';
import { topicDaily } from '../data/history.ts';
import { learnerPool, poolOfLeaves } from '../data/learner.ts';
import { masteryHistory, masteryRows } from '../data/mastery.ts';
import { masteryListPage, pageMayHoldEveryLeaf } from '../data/mastery-list.ts';
import { topicWithChildren } from '../data/taxonomy.ts';
import { masteryEntry, masteryView, type MasteryField } from '../views/mastery-entry.ts';

export const masteryList = defineRoute({
  path: '/api/analytics/mastery',
  operationId: 'listMastery',
  tag: 'student',
  summary: 'Mastery of every topic the student has a row for',
  description:
    "One entry per topic with mastery state (leaf topics from the student's answers and materials, parent topics " +
    'as board-weighted roll-ups). score/interval/trend are as of the last activity on the topic (asOf); `now` ' +
    'recomputes retrieval strength and the score at request time for leaf topics (recall decays between sessions). ' +
    'Entries come in one stable order (level, then topic id bytewise), at most `limit` per page; `nextCursor` ' +
    '(null on the last page) resumes after this page. `fields` trims each entry to the fields named.',
  scope: 'student',
  reads: 'replica',
  query: masteryListQuery,
  cache: 'mastery-list',
  response: RESPONSES.masteryList,
  handler: async ({ user, query, data, now }) => {
    const fields = query.fields === undefined ? undefined : (query.fields.split(',') as MasteryField[]);
    // The pooled learner prior needs the student's sums over all their leaves. A first page of every leaf (the
    // usual full list) holds them: summed from its rows, no read (data/learner.ts poolOfLeaves). Otherwise one
    // grouped read: in parallel when the page cannot hold them, after it when it did not (a shorter `limit`).
    const wantsP = fields === undefined || fields.includes('pCorrect') || fields.includes('pCorrectNow');
    const mayHoldLeaves = pageMayHoldEveryLeaf({
      level: query.level,
      parent: query.parent,
      after: query.cursor,
    });
    const [page, read] = await Promise.all([
      masteryListPage(data.pg, user, {
        level: query.level,
        parent: query.parent,
        after: query.cursor === undefined ? undefined : (decodeMasteryCursor(query.cursor) ?? undefined),
        limit: query.limit,
        nowMs: now,
      }),
      wantsP && !mayHoldLeaves ? learnerPool(data.pg, user) : undefined,
    ]);
    const pool = !wantsP
      ? undefined
      : (read ?? (page.allLeaves ? poolOfLeaves(page.rows) : await learnerPool(data.pg, user)));
    const topics = page.rows.map((r) => {
      const entry = masteryEntry(r, now, pool);
      return fields === undefined ? entry : Object.fromEntries(fields.map((f) => [f, entry[f]]));
    });
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      topics,
      nextCursor: page.next === null ? null : encodeMasteryCursor(page.next),
    };
  },
});

export const masteryTopic = defineRoute({
  path: '/api/analytics/mastery/:topic',
  notFound: 'The topic id is not in the taxonomy (topic_not_found)',
  operationId: 'getTopicMastery',
  tag: 'student',
  summary: 'Mastery of one topic: score with interval, trend, history, sub-topics, next review',
  description:
    '404 topic_not_found for an id not in the taxonomy; a topic the student has not studied yet has `mastery: null`. ' +
    '`history` holds end-of-day snapshots (topic_mastery_history, leaf topics) over the last `days` days; ' +
    '`daily` the answers per UTC day on the topic and its direct sub-topics (ClickHouse rollup).',
  scope: 'student',
  reads: 'replica',
  params: masteryTopicParams,
  query: masteryTopicQuery,
  cache: 'mastery-topic',
  response: RESPONSES.masteryTopic,
  handler: async ({ user, params, query, data, now }) => {
    const found = await topicWithChildren(data.pg, params.topic);
    if (!found) throw new ApiError(404, 'topic_not_found', 'no such topic', { topic: params.topic });
    const from = addDays(utcDay(now), -(query.days - 1));
    const ids = [found.topic.id, ...found.children.map((c) => c.id)];
    const [rows, history, daily, pool] = await Promise.all([
      masteryRows(data.pg, user, { topics: ids }),
      masteryHistory(data.pg, user, found.topic.id, from),
      topicDaily(data.chRows, user, found.topic.level === 2 ? [found.topic.id] : ids, from),
      found.topic.level === 2 ? learnerPool(data.pg, user) : undefined,
    ]);
    const byId = new Map(rows.map((r) => [r.topicId, r]));
    const self = byId.get(found.topic.id);
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      topic: found.topic,
      mastery: self ? masteryView(self, now, pool) : null,
      nextReviewAt: self?.nextReviewAt ?? null,
      history: history.map((h) => ({
        day: h.day,
        score: round(h.score),
        lower: round(h.lower),
        upper: round(h.upper),
        attempts: h.attempts,
        accuracy: round(h.accuracy),
        retrievalStrength: round(h.retrievalStrength),
      })),
      daily: daily.map((d) => ({ ...d, accuracy: round(d.questions > 0 ? d.correct / d.questions : null) })),
      subTopics: found.children.map((child) => {
        const r = byId.get(child.id);
        return {
          topicId: child.id,
          name: child.name,
          boardWeight: child.boardWeight,
          studied: r !== undefined,
          score: r ? round(r.score) : null,
          trend: r?.trend ?? null,
          attempts: r?.attempts ?? 0,
          nextReviewAt: r?.nextReviewAt ?? null,
        };
      }),
    };
  },
});
