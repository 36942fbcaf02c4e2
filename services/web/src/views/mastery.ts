import { getJson } from '../api.ts';
import { chart, SCORE } from '../charts.ts';
import { card, empty, h, stat, stats, table } from '../dom.ts';
import { masteryTree, num, pct, systemDisciplineGrid, when } from '../format.ts';
import { failure, type View } from '../view.ts';

export type MasteryEntry = {
  topicId: string;
  name: string;
  level: number;
  parentId: string | null;
  score: number;
  interval: { lower: number; upper: number };
  trend: string | null;
  attempts: number;
  accuracy: number | null;
  retrievalStrength: number;
  now: { retrievalStrength: number | null; score: number | null } | null;
  asOf: string | null;
  nextReviewAt: string | null;
};

const TREND: Record<string, string> = {
  improving: '▲ improving',
  stable: '● stable',
  declining: '▼ declining',
  insufficient_data: '… too few answers',
};

/** P(correct now): the learner model's current recall when it has a state, else its stored retrieval strength. */
export function pNow(t: MasteryEntry): number {
  return t.now?.retrievalStrength ?? t.retrievalStrength;
}

export const mastery: View = async (ctx) => {
  const r = await getJson<{ topics: MasteryEntry[] }>('/api/analytics/mastery');
  if (r.kind !== 'ok') return failure(r, 'Mastery', ctx);
  const topics = r.data.topics ?? [];
  if (topics.length === 0)
    return card('Mastery', empty('No answers yet: mastery appears after the first questions.'));
  const leaves = topics.filter((t) => t.level === 2).sort((a, b) => a.score - b.score);
  const tree = masteryTree(topics);
  // Area by answers (value), colour by score: a per-node itemStyle (ECharts' visual mapping would use the area).
  const paint = (nodes: ReturnType<typeof masteryTree>): unknown[] =>
    nodes.map((n) => ({
      ...n,
      itemStyle: { color: scoreColor(n.score) },
      children: n.children && paint(n.children),
    }));
  return h(
    'div',
    { class: 'stack' },
    card(
      'Mastery by system and discipline',
      chart(
        `Treemap of mastery by system and discipline: ${leaves.length} topics, area by answers, colour by score from vermillion (weak) to blue (strong)`,
        {
          tooltip: {},
          series: [
            {
              type: 'treemap',
              data: paint(tree),
              leafDepth: 2,
              roam: false,
              nodeClick: 'zoomToNode',
              label: { show: true },
              upperLabel: { show: true, height: 22 },
            },
          ],
        },
        460,
      ),
      legend(),
    ),
    heatmap(topics),
    card(
      'Topics (weakest first)',
      table(
        'Mastery per topic: score with its 95% interval, the chance of answering correctly now, trend and answers',
        ['Topic', 'Score', '95% interval', 'P(correct now)', 'Trend', 'Answers', 'Next review'],
        leaves.map((t) => [
          h('a', { href: `#/mastery/${encodeURIComponent(t.topicId)}`, 'data-topic': t.topicId }, t.name),
          h('span', { 'data-k': `score.${t.topicId}` }, pct(t.score)),
          `${pct(t.interval.lower)}–${pct(t.interval.upper)}`,
          h('span', { 'data-k': `pnow.${t.topicId}` }, pct(pNow(t))),
          TREND[t.trend ?? ''] ?? '–',
          String(t.attempts),
          when(t.nextReviewAt),
        ]),
        'mastery',
      ),
    ),
  );
};

/** Systems (rows) by disciplines (columns), coloured by score; empty cells are combinations with no topic. */
function heatmap(topics: MasteryEntry[]): HTMLElement {
  const g = systemDisciplineGrid(topics);
  if (g.cells.length === 0) return card('Systems by discipline', empty('No system has answers yet.'));
  return card(
    'Systems by discipline',
    chart(
      `Heatmap of mastery: ${g.systems.length} systems by ${g.disciplines.length} disciplines, colour by score`,
      {
        tooltip: {
          formatter: (p: { value: [number, number, number] }) =>
            `${g.systems[p.value[1]]} — ${g.disciplines[p.value[0]]}: ${pct(p.value[2])}`,
        },
        grid: { left: 150, right: 16, top: 10, bottom: 110 },
        xAxis: {
          type: 'category',
          data: g.disciplines,
          axisLabel: { rotate: 40, width: 120, overflow: 'truncate' },
        },
        yAxis: {
          type: 'category',
          data: g.systems,
          inverse: true,
          axisLabel: { width: 140, overflow: 'truncate' },
        },
        visualMap: {
          show: false,
          type: 'piecewise',
          pieces: SCORE.map((color, i) => ({ min: i / 5, max: (i + 1) / 5, color })),
        },
        series: [
          {
            type: 'heatmap',
            data: g.cells,
            label: {
              show: g.cells.length <= 60,
              color: '#000000',
              textBorderColor: '#ffffff',
              textBorderWidth: 2,
              formatter: (p: { value: [number, number, number] }) => pct(p.value[2]),
            },
          },
        ],
      },
      Math.max(220, 130 + g.systems.length * 26),
    ),
    legend(),
  );
}

export function scoreColor(score: number): string {
  const i = Math.min(SCORE.length - 1, Math.max(0, Math.floor(score * SCORE.length)));
  return SCORE[i]!;
}

function legend(): HTMLElement {
  const labels = ['0–20%', '20–40%', '40–60%', '60–80%', '80–100%'];
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Colour legend of the mastery score' },
    ...labels.map((l, i) => h('li', {}, h('span', { class: 'swatch', style: `background:${SCORE[i]}` }), l)),
  );
}

type TopicDetail = {
  topic: { id: string; name: string; system?: string; discipline?: string };
  mastery: MasteryEntry | null;
  history: Array<{
    day: string;
    score: number;
    lower: number;
    upper: number;
    attempts: number;
    accuracy: number | null;
  }>;
  daily: Array<{ day: string; questions: number; correct: number }>;
  subTopics: Array<{ topicId: string; name: string; score: number; attempts: number }>;
  nextReviewAt: string | null;
};

export const masteryTopic: View = async (ctx) => {
  const r = await getJson<TopicDetail>(`/api/analytics/mastery/${encodeURIComponent(ctx.arg)}`);
  if (r.kind !== 'ok') return failure(r, 'Topic', ctx);
  const d = r.data;
  const m = d.mastery;
  const hist = d.history ?? [];
  return h(
    'div',
    { class: 'grid wide' },
    h('p', {}, h('a', { href: '#/mastery' }, '← All topics')),
    card(
      d.topic.name,
      m
        ? stats(
            stat(
              'Score',
              pct(m.score),
              'topic.score',
              `95% interval ${pct(m.interval.lower)}–${pct(m.interval.upper)}`,
            ),
            stat('P(correct now)', pct(pNow(m)), 'topic.pnow'),
            stat('Answers', String(m.attempts), 'topic.attempts'),
            stat('Accuracy', pct(m.accuracy), 'topic.accuracy'),
            stat('Trend', TREND[m.trend ?? ''] ?? '–', 'topic.trend'),
            stat('Next review', when(d.nextReviewAt), 'topic.nextReview'),
          )
        : empty('Not studied yet.'),
    ),
    card(
      'Score over time',
      hist.length
        ? chart(`Mastery score per day with its 95% interval, ${hist.length} days`, {
            tooltip: { trigger: 'axis' },
            grid: { left: 48, right: 16, top: 24, bottom: 32 },
            xAxis: { type: 'category', data: hist.map((p) => p.day) },
            yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v: number) => pct(v) } },
            series: [
              {
                name: 'lower',
                type: 'line',
                stack: 'band',
                data: hist.map((p) => p.lower),
                lineStyle: { opacity: 0 },
                symbol: 'none',
              },
              {
                name: '95% interval',
                type: 'line',
                stack: 'band',
                data: hist.map((p) => num(p.upper - p.lower, 4)),
                lineStyle: { opacity: 0 },
                areaStyle: { color: '#56B4E9', opacity: 0.35 },
                symbol: 'none',
              },
              {
                name: 'score',
                type: 'line',
                data: hist.map((p) => p.score),
                color: '#0072B2',
                symbolSize: 6,
              },
            ],
          })
        : empty('No history yet.'),
    ),
    card(
      'Answers per day',
      (d.daily ?? []).length
        ? chart(`Answers per day on this topic, ${(d.daily ?? []).length} days`, {
            tooltip: { trigger: 'axis' },
            legend: { top: 0 },
            grid: { left: 40, right: 16, top: 32, bottom: 32 },
            xAxis: { type: 'category', data: d.daily.map((p) => p.day) },
            yAxis: { type: 'value', minInterval: 1 },
            series: [
              {
                name: 'correct',
                type: 'bar',
                stack: 'a',
                data: d.daily.map((p) => p.correct),
                color: '#0072B2',
              },
              {
                name: 'wrong',
                type: 'bar',
                stack: 'a',
                data: d.daily.map((p) => p.questions - p.correct),
                color: '#E69F00',
              },
            ],
          })
        : empty('No answers in this window.'),
    ),
    card(
      'Sub-topics',
      (d.subTopics ?? []).length
        ? table(
            'Sub-topics and their mastery',
            ['Sub-topic', 'Score', 'Answers'],
            d.subTopics.map((s) => [
              h('a', { href: `#/mastery/${encodeURIComponent(s.topicId)}` }, s.name),
              pct(s.score),
              String(s.attempts),
            ]),
          )
        : empty('This topic has no studied sub-topics.'),
    ),
  );
};
