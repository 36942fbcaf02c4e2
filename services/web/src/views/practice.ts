import { LocalStorageQueue, StudystreamClient } from '../../../sdk/browser.ts';
import { getJson } from '../api.ts';
import { card, h, stat, stats, unavailable } from '../dom.ts';
import { pct, when } from '../format.ts';
import { failure, type View } from '../view.ts';
import { liveCard, pollMs } from './overview.ts';
import type { MasteryEntry } from './mastery.ts';

/**
 * The practice page: a few questions sent as events through the client SDK (browser build, offline queue in
 * localStorage), then the effect read back from the API (mastery of the topics, the live session, the schedule).
 * Needs development mode: /api/dev/practice hands out an API key and an ingest endpoint on this origin.
 */
type Question = { id: string; text: string; options: string[]; answer: number };
const QUESTIONS: Question[] = [
  {
    id: 'practice-q1',
    text: 'First-line drug class for generalized anxiety disorder?',
    options: ['SSRIs', 'Benzodiazepines (long term)', 'Typical antipsychotics'],
    answer: 0,
  },
  {
    id: 'practice-q2',
    text: 'Minimum duration of symptoms for a major depressive episode?',
    options: ['3 days', '2 weeks', '6 months'],
    answer: 1,
  },
  {
    id: 'practice-q3',
    text: 'Which finding defines anorexia nervosa in DSM-5?',
    options: ['BMI above 25', 'Restriction leading to low body weight', 'Binge eating once a week'],
    answer: 1,
  },
  {
    id: 'practice-q4',
    text: 'Thought-stopping compulsions belong to which disorder?',
    options: ['OCD', 'Schizophrenia', 'Bipolar II'],
    answer: 0,
  },
  {
    id: 'practice-q5',
    text: 'Lithium toxicity commonly presents with?',
    options: ['Coarse tremor and ataxia', 'Hypertensive crisis', 'Bradycardia only'],
    answer: 0,
  },
];
const FALLBACK_TOPICS = [
  'behav.path.anxiety-disorders',
  'behav.path.mood-disorders',
  'behav.path.neurodevelopmental-eating',
];

export const practice: View = async (ctx) => {
  if (ctx.role !== 'student') return card('Practice', unavailable('Practice', 'students only'));
  const cfg = await getJson<{ endpoint: string; apiKey: string }>('/api/dev/practice');
  if (cfg.kind === 'unavailable')
    return card('Practice', unavailable('Practice', 'development mode only (API_DEV_MODE=1)'));
  if (cfg.kind !== 'ok') return failure(cfg, 'Practice', ctx);
  const m = await getJson<{ topics: MasteryEntry[] }>('/api/analytics/mastery?level=2&limit=3');
  const topics =
    m.kind === 'ok' && m.data.topics.length >= 3
      ? m.data.topics.slice(0, 3).map((t) => t.topicId)
      : FALLBACK_TOPICS;

  const storage = new LocalStorageQueue(`studystream.practice.${ctx.sub}`);
  const status = h('p', { 'data-k': 'practice.status', role: 'status', 'aria-live': 'polite' }, 'Ready.');
  const counters = h('div', {});
  const client = new StudystreamClient({
    endpoint: new URL(cfg.data.endpoint, location.origin).toString().replace(/\/$/, ''),
    apiKey: cfg.data.apiKey,
    storage,
    platform: 'WEB',
    appVersion: 'dashboard-practice',
    flushIntervalMs: 500,
    maxRetries: 1,
    backoffBaseMs: 200,
    backoffMaxMs: 2000,
    onError: (err) =>
      (status.textContent = `Waiting to send (${err.kind}); answers are kept in this browser.`),
  });
  const showCounters = () => {
    const s = client.stats();
    counters.replaceChildren(
      stats(
        stat('Waiting to send', String(s.queued), 'practice.queued'),
        stat('Accepted by ingest', String(s.accepted + s.duplicates), 'practice.accepted'),
        stat('Rejected', String(s.rejected), 'practice.rejected'),
        stat('Network', navigator.onLine ? 'online' : 'offline', 'practice.online'),
      ),
    );
  };
  const session = client.events.sessionStart({ userId: ctx.sub, topicIds: topics });
  void client.track(session);

  const mastery = h('div', { 'aria-live': 'polite' });
  const live = h('div', { 'aria-live': 'polite' });
  const refresh = async () => {
    showCounters();
    const [d, list] = await Promise.all([
      getJson<{
        liveSession: Parameters<typeof liveCard>[0];
        liveSessionAvailable?: boolean;
        reviews: { dueNow: number };
      }>('/api/analytics/dashboard'),
      getJson<{ topics: MasteryEntry[] }>('/api/analytics/mastery?level=2'),
    ]);
    if (d.kind === 'ok')
      live.replaceChildren(
        liveCard(d.data.liveSession, d.data.liveSessionAvailable),
        h(
          'p',
          {},
          `Reviews due now: `,
          h('span', { 'data-k': 'practice.dueNow' }, String(d.data.reviews.dueNow)),
        ),
      );
    if (list.kind === 'ok') {
      const rows = topics.map((id) => list.data.topics.find((t) => t.topicId === id));
      mastery.replaceChildren(
        stats(
          ...topics.map((id, i) => {
            const t = rows[i];
            return stat(
              t?.name ?? id,
              t ? `${pct(t.score)} (${t.attempts} answers)` : 'not studied yet',
              `practice.topic.${id}`,
              t?.nextReviewAt ? `next review ${when(t.nextReviewAt)}` : undefined,
            );
          }),
        ),
      );
    }
  };
  const timer = setInterval(() => void refresh(), pollMs());
  const onNet = () => showCounters();
  window.addEventListener('online', onNet);
  window.addEventListener('offline', onNet);
  ctx.onLeave(() => {
    clearInterval(timer);
    window.removeEventListener('online', onNet);
    window.removeEventListener('offline', onNet);
    void client.close({ timeoutMs: 1000 });
  });
  void refresh();

  let answered = 0;
  const form = (q: Question, i: number) => {
    const started = Date.now();
    const topic = topics[i % topics.length]!;
    const fieldset = h(
      'fieldset',
      { 'data-question': q.id },
      h('legend', {}, `${i + 1}. ${q.text}`),
      ...q.options.map((o, j) =>
        h(
          'button',
          {
            type: 'button',
            class: 'answer',
            'data-correct': j === q.answer ? 'true' : 'false',
            onclick: async () => {
              fieldset.querySelectorAll('button').forEach((b) => b.setAttribute('disabled', ''));
              const correct = j === q.answer;
              await client.track(
                client.events.questionAnswered({
                  userId: ctx.sub,
                  sessionId: session.session_id ?? undefined,
                  questionId: q.id,
                  topicIds: [topic],
                  isCorrect: correct,
                  selectedAnswer: String.fromCharCode(65 + j),
                  attemptNumber: 1,
                  timeToAnswerMs: Math.max(1000, Date.now() - started),
                }),
              );
              answered++;
              fieldset.append(
                h(
                  'p',
                  { class: correct ? 'ok' : 'wrong' },
                  correct ? 'Correct.' : `Not quite: ${q.options[q.answer]}.`,
                ),
              );
              status.textContent = `${answered} answered; sending…`;
              const res = await client.flush();
              status.textContent =
                res.remaining === 0
                  ? `${answered} answered; all sent.`
                  : `${answered} answered; ${res.remaining} waiting for the network.`;
              showCounters();
            },
          },
          o,
        ),
      ),
    );
    return fieldset;
  };
  showCounters();
  return h(
    'div',
    { class: 'grid wide' },
    card(
      'Practice questions',
      h(
        'p',
        { class: 'hint' },
        'Answers go to ingest through the client SDK; offline answers wait in this browser and are sent when the network returns.',
      ),
      status,
      ...QUESTIONS.map(form),
    ),
    card('Sending', counters),
    card('Your mastery on these topics', mastery),
    card('Live session', live),
  );
};
