import { getJson } from '../api.ts';
import { chart, PALETTE } from '../charts.ts';
import { card, empty, h, stat, stats, table } from '../dom.ts';
import { firstArray, firstNumber, firstString, num, pct } from '../format.ts';
import { failure, type View } from '../view.ts';

/**
 * Knowledge gaps (issue 16: GET /api/analytics/knowledge-gaps). Its response shape is read defensively: a list under
 * `gaps` (or `items`/`topics`), each with a topic, a severity, a priority, a gap score or mastery, hours to close,
 * "prerequisite for N others" and a learning path; prerequisite edges from `prerequisites`/`unlocks` when present.
 */
const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low'];

export const gaps: View = async (ctx) => {
  const r = await getJson('/api/analytics/knowledge-gaps');
  if (r.kind !== 'ok') return failure(r, 'Knowledge gaps', ctx);
  const list = firstArray(r.data, 'gaps', 'items', 'topics');
  if (list.length === 0) return card('Knowledge gaps', empty('No knowledge gaps found.'));
  const rows = list.map((g) => ({
    id: firstString(g, 'topicId', 'topic.id', 'id') ?? '?',
    name: firstString(g, 'name', 'topicName', 'topic.name', 'topicId') ?? '?',
    severity: (firstString(g, 'severity', 'severityClass') ?? 'unknown').toLowerCase(),
    priority: firstNumber(g, 'priority', 'priorityScore', 'score'),
    mastery: firstNumber(g, 'mastery', 'masteryScore', 'mastery.score'),
    hours: firstNumber(g, 'estimatedHours', 'hoursToClose', 'estimate.hours'),
    unlocks: firstNumber(g, 'prerequisiteFor', 'unlocks', 'dependents'),
    progress: firstNumber(g, 'progress', 'closedShare'),
    prereqs: firstArray(g, 'prerequisites', 'learningPath', 'path').map((p) =>
      typeof p === 'string' ? p : (firstString(p, 'topicId', 'id') ?? ''),
    ),
  }));
  const counts = SEVERITY_ORDER.map((s) => rows.filter((r) => r.severity === s).length);
  const ids = new Set(rows.map((r) => r.id));
  const edges = rows.flatMap((r) =>
    r.prereqs.filter((p) => p && p !== r.id).map((p) => ({ source: p, target: r.id })),
  );
  for (const e of edges) ids.add(e.source);
  return h(
    'div',
    { class: 'grid wide' },
    card(
      'Knowledge gaps',
      stats(...SEVERITY_ORDER.map((s, i) => stat(s, String(counts[i]), `gaps.${s}`))),
      table(
        'Knowledge gaps by priority',
        ['Topic', 'Severity', 'Priority', 'Mastery', 'Hours to close', 'Prerequisite for', 'Progress'],
        rows.map((r) => [
          h('a', { href: `#/mastery/${encodeURIComponent(r.id)}` }, r.name),
          h('span', { class: `badge sev-${r.severity}` }, r.severity),
          num(r.priority),
          pct(r.mastery),
          num(r.hours),
          r.unlocks === null ? '–' : `${r.unlocks} others`,
          r.progress === null
            ? '–'
            : h(
                'progress',
                { max: 1, value: r.progress, 'aria-label': `${r.name} progress` },
                pct(r.progress),
              ),
        ]),
        'gaps',
      ),
    ),
    card(
      'Prerequisites (which topics unlock others)',
      edges.length
        ? chart(
            `Prerequisite graph of ${ids.size} topics and ${edges.length} links`,
            {
              tooltip: {},
              series: [
                {
                  type: 'graph',
                  layout: 'force',
                  roam: true,
                  label: { show: true, color: '#1a1a1a' },
                  edgeSymbol: ['none', 'arrow'],
                  force: { repulsion: 120, edgeLength: 80 },
                  data: [...ids].map((id) => {
                    const row = rows.find((r) => r.id === id);
                    return {
                      id,
                      name: row?.name ?? id,
                      symbolSize: 14 + (row?.unlocks ?? 0) * 2,
                      itemStyle: {
                        color: row ? PALETTE[Math.max(0, SEVERITY_ORDER.indexOf(row.severity)) % 8] : '#999',
                      },
                    };
                  }),
                  links: edges,
                },
              ],
            },
            360,
          )
        : empty('No prerequisite links in this answer.'),
    ),
  );
};
