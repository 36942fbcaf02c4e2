import { getJson } from '../api.ts';
import { card, empty, h, stat, stats } from '../dom.ts';
import { minutes, num, pct, when } from '../format.ts';
import { failure, type View } from '../view.ts';

type Window = { studyMinutes: number; questions: number; accuracy: number | null; sessions: number };
type Live = {
  sessionId: string;
  status: string;
  startedAt: string;
  lastEventAt: string;
  activeMs: number;
  focusScore: number | null;
  questionsAnswered: number;
  questionsCorrect: number;
} | null;
type Dashboard = {
  mastery: {
    topicsStudied: number;
    averageScore: number | null;
    attempts: number;
    bands: Record<string, number>;
    weakest: Array<{ topicId: string; name: string; score: number }>;
    strongest: Array<{ topicId: string; name: string; score: number }>;
  };
  study: { today: Window; last7Days: Window; last30Days: Window };
  streak: { current: number; longest: number; lastActiveDay: string | null };
  reviews: { dueNow: number; dueNext7Days: number };
  liveSession: Live;
  liveSessionAvailable?: boolean;
};

/** How often the live session is polled (ms); `?poll=` in the page URL overrides it (tests). */
export function pollMs(): number {
  const v = Number(new URLSearchParams(location.search).get('poll'));
  return Number.isFinite(v) && v >= 200 ? v : 5000;
}

export function liveCard(live: Live, available = true): HTMLElement {
  if (!available) return h('p', { class: 'hint' }, 'Live sessions are unavailable right now.');
  if (!live) return h('p', { 'data-k': 'live.none' }, 'No session running.');
  return stats(
    stat('Status', live.status, 'live.status'),
    stat('Questions', String(live.questionsAnswered), 'live.questionsAnswered'),
    stat('Correct', String(live.questionsCorrect), 'live.questionsCorrect'),
    stat('Active', minutes(live.activeMs / 60_000), 'live.active'),
    stat('Focus', pct(live.focusScore), 'live.focusScore'),
    stat('Last activity', when(live.lastEventAt), 'live.lastEventAt'),
  );
}

function windowStats(w: Window, key: string): HTMLElement {
  return stats(
    stat('Study time', minutes(w.studyMinutes), `${key}.studyMinutes`),
    stat('Questions', String(w.questions), `${key}.questions`),
    stat('Accuracy', pct(w.accuracy), `${key}.accuracy`),
    stat('Sessions', String(w.sessions), `${key}.sessions`),
  );
}

export const overview: View = async (ctx) => {
  const r = await getJson<Dashboard>('/api/analytics/dashboard');
  if (r.kind !== 'ok') return failure(r, 'Dashboard', ctx);
  const d = r.data;
  const liveBox = h(
    'div',
    { 'aria-live': 'polite', 'data-live': '' },
    liveCard(d.liveSession, d.liveSessionAvailable),
  );
  const timer = setInterval(async () => {
    const next = await getJson<Dashboard>('/api/analytics/dashboard');
    if (next.kind === 'ok')
      liveBox.replaceChildren(liveCard(next.data.liveSession, next.data.liveSessionAvailable));
  }, pollMs());
  ctx.onLeave(() => clearInterval(timer));
  const m = d.mastery;
  return h(
    'div',
    { class: 'grid' },
    card(
      'Mastery',
      stats(
        stat('Topics studied', String(m.topicsStudied), 'mastery.topicsStudied'),
        stat('Average score', pct(m.averageScore), 'mastery.averageScore'),
        stat('Answers', String(m.attempts), 'mastery.attempts'),
        stat('Mastered', String(m.bands.mastered ?? 0), 'mastery.bands.mastered'),
        stat('Developing', String(m.bands.developing ?? 0), 'mastery.bands.developing'),
        stat('Weak', String(m.bands.weak ?? 0), 'mastery.bands.weak'),
      ),
      m.weakest.length
        ? h(
            'p',
            {},
            'Weakest: ',
            ...m.weakest
              .slice(0, 3)
              .flatMap((t, i) => [
                i ? ', ' : '',
                h('a', { href: `#/mastery/${encodeURIComponent(t.topicId)}` }, `${t.name} (${pct(t.score)})`),
              ]),
          )
        : empty('No topics studied yet.'),
    ),
    card('Live session', liveBox),
    card(
      'Streak and reviews',
      stats(
        stat('Current streak', `${d.streak.current} days`, 'streak.current'),
        stat('Longest streak', `${d.streak.longest} days`, 'streak.longest'),
        stat('Reviews due now', String(d.reviews.dueNow), 'reviews.dueNow'),
        stat('Due in 7 days', String(d.reviews.dueNext7Days), 'reviews.dueNext7Days'),
      ),
    ),
    card('Today', windowStats(d.study.today, 'today')),
    card('Last 7 days', windowStats(d.study.last7Days, 'last7Days')),
    card(
      'Last 30 days',
      windowStats(d.study.last30Days, 'last30Days'),
      h('p', { class: 'hint' }, `Average ${num(d.study.last30Days.studyMinutes / 30)} min a day.`),
    ),
  );
};
