/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { bundleSize, ensureWebBuilt } from '../../../services/web/build.ts';
import { axe, collectErrors, ensureDir, launchChromium } from '../../support/browser.ts';
import { ALICE, NOW } from '../api/fixture.ts';
import { KEYS as SESSION_KEYS } from '../../../services/stream/sessions/store.ts';
import { startWebServer, type WebServer } from './server.ts';
import { loadDataset } from '../../../bench/api.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { createClickHouse } from '../../../services/shared/clickhouse.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';

/**
 * The dashboard in Debian's Chromium against the analytics API on real PostgreSQL, ClickHouse and Redis (the API
 * tests' known data, clock pinned to the fixture's NOW): every view renders, shows the numbers the API returns
 * (read from the API in the same test and formatted here independently), logs no console error and has no serious
 * or critical axe-core violation. One browser for the file. Screenshots go to test-results/web/ (git-ignored);
 * with UPDATE_SCREENSHOTS=1 also to docs/screenshots/ (committed, shown in the README).
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RUN_DIR = join(ROOT, 'test-results', 'web');
const DOCS_DIR = join(ROOT, 'docs', 'screenshots');
/** Run-folder-only screenshots (intermediate steps), not copied to docs/. */
const DOCS_SKIP = new Set(['sign-in-done', 'sign-in-token', 'readiness-shape']);
const pct = (x: number | null) => (x === null ? '–' : `${Math.round(x * 100)}%`);
const num1 = (x: number | null) => (x === null ? '–' : String(Math.round(x * 10) / 10));

let server: WebServer;
let browser: Browser;
let context: BrowserContext;
let studentToken: string;
let educatorToken: string;
const report: Record<string, unknown> = {};

beforeAll(async () => {
  const built = Date.now();
  await ensureWebBuilt();
  report.buildCheckMs = Date.now() - built;
  report.bundle = bundleSize();
  ensureDir(RUN_DIR);
  [server, browser] = await Promise.all([startWebServer(), launchChromium()]);
  studentToken = await server.token(ALICE, 'student');
  educatorToken = await server.token('edu-1', 'educator', ['big', 'small']);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
});

afterAll(async () => {
  writeFileSync(join(RUN_DIR ?? '.', 'report.json'), JSON.stringify(report, null, 2));
  console.log(`web dashboard report: ${JSON.stringify({ ...report, bundle: undefined })}`);
  console.log(
    `bundle: ${((report.bundle as any)?.bytes / 1024).toFixed(0)} KiB, ${((report.bundle as any)?.gzipBytes / 1024).toFixed(0)} KiB gzip`,
  );
  await context?.close();
  await browser?.close();
  await server?.close();
});

async function api(path: string, token = studentToken): Promise<any> {
  const res = await server.api(path, token);
  return res.body;
}

/** Opens a view in a fresh page signed in with `token`; waits until it rendered; collects console errors. */
async function open(
  view: string,
  token = studentToken,
  query = '',
): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${server.url}/${query}#token=${token}`);
  await page.waitForSelector('main[data-ready="true"]');
  if (view) {
    await page.evaluate((v) => (location.hash = v), `#/${view}`);
    await page.waitForFunction(
      (v) => location.hash === v && document.querySelector('main[data-ready="true"]') !== null,
      `#/${view}`,
    );
  }
  return { page, errors };
}

const text = (page: Page, key: string) => page.locator(`[data-k="${key}"]`).first().innerText();

/** Screenshot, axe check, console check (network errors allowed only for the `unavailable` API paths). */
async function finish(page: Page, errors: string[], name: string, unavailable: string[] = []): Promise<void> {
  // Charts render on the next frame.
  await page.waitForTimeout(150);
  const file = join(RUN_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1' && !DOCS_SKIP.has(name)) {
    copyFileSync(file, join(ensureDir(DOCS_DIR), `${name}.png`));
  }
  const violations = await axe(page);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  (report.axe as Record<string, unknown>) ??= {};
  (report.axe as Record<string, unknown>)[name] = violations.map((v) => `${v.id} (${v.impact})`);
  expect(serious, JSON.stringify(serious, null, 1)).toEqual([]);
  const expected = (e: string) =>
    e.includes('Failed to load resource') &&
    unavailable.some((path) => e.includes(path.startsWith('http') ? path : `${server.url}${path}`));
  expect(errors.filter((e) => !expected(e))).toEqual([]);
  await page.close();
}

describe('web dashboard in Chromium', () => {
  it('serves the build without auth; dev endpoints answer; the sign-in picker signs a demo student in', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(server.url + asset);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${server.url}/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    // Data calls still need the token.
    expect((await fetch(`${server.url}/api/analytics/dashboard`)).status).toBe(401);

    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(server.url);
    await page.waitForSelector('main[data-ready="true"]');
    const sign = (await (await fetch(`${server.url}/api/dev/sign-in`)).json()) as any;
    expect(sign.students[0].id).toBe(ALICE);
    for (const s of sign.students)
      await expect(page.locator(`button[data-user="${s.id}"]`).count()).resolves.toBe(1);
    await page.locator(`button[data-user="${ALICE}"]`).click();
    await page.waitForSelector('[data-k="mastery.topicsStudied"]');
    expect(await text(page, 'who')).toBe(`${ALICE} (student)`);
    await finish(page, errors, 'sign-in-done');
  });

  it('outside development mode the /api/dev endpoints are 404 and the page offers only the token form', async () => {
    const prod = await startWebServer({ iso: server.iso, fixture: false, devMode: false });
    try {
      for (const [method, path] of [
        ['GET', '/api/dev/sign-in'],
        ['GET', '/api/dev/practice'],
        ['POST', '/api/dev/ingest/v1/events/batch'],
      ]) {
        const res = await fetch(prod.url + path, {
          method,
          body: method === 'POST' ? '{"events":[]}' : undefined,
        });
        expect(res.status, path).toBe(404);
      }
      expect((await fetch(`${prod.url}/`)).status).toBe(200);
      const page = await context.newPage();
      const errors = collectErrors(page);
      await page.goto(prod.url);
      await page.waitForSelector('main[data-ready="true"]');
      expect(await page.locator('button[data-user]').count()).toBe(0);
      await page.locator('#token').fill(studentToken);
      await page.locator('form button[type="submit"]').click();
      await page.waitForSelector('[data-k="mastery.topicsStudied"]');
      await finish(page, errors, 'sign-in-token', [`${prod.url}/api/dev/sign-in`]);
    } finally {
      await prod.close();
    }
  });

  it('first view interactive within 1.5 s (overview, demo data)', async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${server.url}/#token=${studentToken}`);
    await page.waitForSelector('main[data-ready="true"] [data-k="mastery.topicsStudied"]');
    const ms = await page.evaluate(() => performance.getEntriesByName('view-ready:overview')[0]!.startTime);
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd };
    });
    report.firstViewInteractiveMs = Math.round(ms);
    report.navigation = nav;
    expect(ms).toBeLessThan(1500);
    // The sign-in picker screenshot (signed out).
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(server.url);
    await page.waitForSelector('button[data-user]');
    await finish(page, errors, 'sign-in');
  });

  it('first view within 1.5 s on a simulated demo cohort (the full taxonomy), mastery treemap too', async () => {
    const demo = isolatedEnv('webdemo');
    await provision(demo, { postgres: true, clickhouse: true });
    const pg = createPgPool(demo.cfg);
    const ch = createClickHouse(demo.cfg);
    let web: WebServer | undefined;
    try {
      const loaded = Date.now();
      const { counts } = await loadDataset(demo, pg, ch, { students: 12, days: 30, seed: 11 });
      report.demoData = { students: 12, days: 30, ...counts, loadMs: Date.now() - loaded };
      const { rows } = await pg.query<{ user_id: string }>(
        `SELECT user_id FROM topic_mastery WHERE topic_level = 2 GROUP BY user_id ORDER BY sum(attempts) DESC LIMIT 1`,
      );
      web = await startWebServer({ iso: demo, fixture: false, now: Date.now });
      const token = await web.token(rows[0]!.user_id, 'student');
      const page = await context.newPage();
      const errors = collectErrors(page);
      await page.goto(`${web.url}/#token=${token}`);
      await page.waitForSelector('main[data-ready="true"] [data-k="mastery.topicsStudied"]');
      const ms = await page.evaluate(() => performance.getEntriesByName('view-ready:overview')[0]!.startTime);
      report.demoFirstViewInteractiveMs = Math.round(ms);
      expect(ms).toBeLessThan(1500);
      const d = (await web.api('/api/analytics/dashboard', token)).body as any;
      expect(await text(page, 'mastery.topicsStudied')).toBe(String(d.mastery.topicsStudied));
      expect(await text(page, 'last30Days.questions')).toBe(String(d.study.last30Days.questions));
      await finish(page, errors, 'demo-overview');

      const m = await context.newPage();
      const mErrors = collectErrors(m);
      await m.goto(`${web.url}/#token=${token}`);
      await m.waitForSelector('main[data-ready="true"]');
      const started = await m.evaluate(() => performance.now());
      await m.evaluate(() => (location.hash = '#/mastery'));
      await m.waitForSelector('table[data-table="mastery"]');
      await m.waitForSelector('.chart svg');
      report.demoMasteryViewMs = Math.round((await m.evaluate(() => performance.now())) - started);
      const list = (await web.api('/api/analytics/mastery', token)).body as any;
      const leaves = list.topics.filter((t: any) => t.level === 2);
      expect(await m.locator('table[data-table="mastery"] tbody tr').count()).toBe(leaves.length);
      for (const t of leaves.slice(0, 10)) expect(await text(m, `score.${t.topicId}`)).toBe(pct(t.score));
      await finish(m, mErrors, 'demo-mastery');
    } finally {
      await web?.close();
      await pg.end();
      await ch.close();
      await teardown(demo);
    }
  });

  it('overview: the dashboard numbers, and the live session updates without reload', async () => {
    const d = await api('/api/analytics/dashboard');
    const { page, errors } = await open('overview', studentToken, '?poll=300');
    expect(await text(page, 'mastery.topicsStudied')).toBe(String(d.mastery.topicsStudied));
    expect(await text(page, 'mastery.averageScore')).toBe(pct(d.mastery.averageScore));
    expect(await text(page, 'mastery.attempts')).toBe(String(d.mastery.attempts));
    expect(await text(page, 'streak.current')).toBe(`${d.streak.current} days`);
    expect(await text(page, 'reviews.dueNow')).toBe(String(d.reviews.dueNow));
    for (const w of ['today', 'last7Days', 'last30Days']) {
      expect(await text(page, `${w}.questions`)).toBe(String(d.study[w].questions));
      expect(await text(page, `${w}.accuracy`)).toBe(pct(d.study[w].accuracy));
      expect(await text(page, `${w}.sessions`)).toBe(String(d.study[w].sessions));
    }
    expect(await text(page, 'live.questionsAnswered')).toBe(String(d.liveSession.questionsAnswered));
    // The processor's live state moves on: the page shows it at the next poll, same document.
    const key = SESSION_KEYS.live(`${ALICE}:alice-live`);
    const live = JSON.parse((await server.redis.get(key))!);
    live.state.questionsAnswered = 7;
    live.state.questionsCorrect = 5;
    await server.redis.set(key, JSON.stringify(live));
    await page.waitForFunction(
      () => document.querySelector('[data-k="live.questionsAnswered"]')?.textContent === '7',
      undefined,
      { timeout: 10_000 },
    );
    expect(await text(page, 'live.questionsCorrect')).toBe('5');
    await finish(page, errors, 'overview');
  });

  it('mastery: every topic score and P(correct now); the topic view with its history', async () => {
    const m = await api('/api/analytics/mastery');
    const leaves = m.topics.filter((t: any) => t.level === 2);
    expect(leaves.length).toBe(3);
    const { page, errors } = await open('mastery');
    expect(await page.locator('table[data-table="mastery"] tbody tr').count()).toBe(leaves.length);
    for (const t of leaves) {
      expect(await text(page, `score.${t.topicId}`)).toBe(pct(t.score));
      expect(await text(page, `pnow.${t.topicId}`)).toBe(
        pct(t.now?.retrievalStrength ?? t.retrievalStrength),
      );
    }
    await page.waitForSelector('.chart svg');
    await finish(page, errors, 'mastery');

    const topic = server.fixture.leaves[0];
    const d = await api(`/api/analytics/mastery/${encodeURIComponent(topic)}`);
    const t = await open(`mastery/${encodeURIComponent(topic)}`);
    expect(await text(t.page, 'topic.score')).toBe(pct(d.mastery.score));
    expect(await text(t.page, 'topic.attempts')).toBe(String(d.mastery.attempts));
    expect(await t.page.locator('.chart').count()).toBeGreaterThanOrEqual(2);
    await finish(t.page, t.errors, 'mastery-topic');
  });

  it('reviews: due and upcoming counts and rows, calendar and forgetting curves', async () => {
    const r = await api('/api/analytics/reviews?days=28');
    const { page, errors } = await open('reviews');
    expect(await text(page, 'reviews.due')).toBe(String(r.due.count));
    expect(await text(page, 'reviews.upcoming')).toBe(String(r.upcoming.count));
    expect(await page.locator('table[data-table="due"] tbody tr').count()).toBe(r.due.topics.length);
    expect(await page.locator('.chart').count()).toBe(2);
    await finish(page, errors, 'reviews');
  });

  it('study efficiency: figures, time-of-day heatmap, session lengths, focus', async () => {
    const p = await api('/api/analytics/study-patterns');
    const { page, errors } = await open('efficiency');
    expect(await text(page, 'eff.questions')).toBe(String(p.efficiency.questions));
    expect(await text(page, 'eff.questionsPerActiveHour')).toBe(num1(p.efficiency.questionsPerActiveHour));
    expect(await text(page, 'eff.accuracy')).toBe(pct(p.efficiency.accuracy));
    expect(await text(page, 'eff.meanFocusScore')).toBe(pct(p.efficiency.meanFocusScore));
    expect(await text(page, 'len.sessions')).toBe(String(p.sessionLengths.sessions));
    expect(await text(page, 'len.median')).toBe(`${num1(p.sessionLengths.medianMinutes)} min`);
    // UTC browser: the local heatmap's peak is the API's.
    const peak = p.peakHours[0];
    const days = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    expect(await text(page, 'peak')).toContain(
      `${days[peak.weekday - 1]} ${peak.hour}:00 (${peak.questions})`,
    );
    expect(await page.locator('.chart').count()).toBe(4);
    await finish(page, errors, 'efficiency');
  });

  it('learning patterns: streaks, weekly activity; insights not available yet', async () => {
    const d = await api('/api/analytics/dashboard');
    const p = await api('/api/analytics/study-patterns?days=91');
    const { page, errors } = await open('patterns');
    expect(await text(page, 'streak.current')).toBe(`${d.streak.current} days`);
    expect(await text(page, 'streak.longest')).toBe(`${d.streak.longest} days`);
    const weeks = p.velocity.weeks;
    expect(await text(page, 'weeks.active')).toContain(
      `${weeks.filter((w: any) => w.activeDays > 0).length} of ${weeks.length} weeks active`,
    );
    const insights = await server.api('/api/analytics/insights', studentToken);
    const missing = insights.status === 404 || insights.status === 501;
    if (missing) expect(await page.locator('[data-state="unavailable"]').count()).toBe(1);
    await finish(page, errors, 'patterns', missing ? ['/api/analytics/insights'] : []);
  });

  it('knowledge gaps and exam readiness: "not available yet" while the API answers 501, data otherwise', async () => {
    for (const [view, path] of [
      ['gaps', '/api/analytics/knowledge-gaps'],
      ['readiness', '/api/analytics/exam-readiness'],
    ] as const) {
      const res = await server.api(path, studentToken);
      const { page, errors } = await open(view);
      if (res.status === 501 || res.status === 404) {
        await expect(page.locator('[data-state="unavailable"]').innerText()).resolves.toContain(
          'not available yet',
        );
      } else {
        expect(res.status).toBe(200);
        expect(await page.locator('[data-state="error"]').count()).toBe(0);
        const shown = view === 'gaps' ? 'table[data-table="gaps"]' : '[data-k="ready.score"]';
        expect(await page.locator(`${shown}, [data-state="empty"]`).count()).toBeGreaterThan(0);
      }
      await finish(page, errors, view, res.status === 200 ? [] : [path]);
    }
  });

  it('knowledge gaps and exam readiness render the shape issue 16 specifies (answers stubbed in the browser)', async () => {
    // The endpoints are another issue's work; until they answer, the browser is handed bodies of the shape issue 16
    // describes, so these views are known to show real answers the day they arrive.
    const gapsBody = {
      user: ALICE,
      gaps: [
        {
          topicId: 't.a',
          name: 'Heart failure',
          severity: 'critical',
          priority: 8.4,
          mastery: 0.3,
          estimatedHours: 6.5,
          prerequisiteFor: 4,
          progress: 0.25,
          learningPath: ['t.b', 't.a'],
        },
        {
          topicId: 't.b',
          name: 'Cardiac output',
          severity: 'high',
          priority: 6.1,
          mastery: 0.45,
          estimatedHours: 3,
          prerequisiteFor: 7,
          progress: 0.5,
        },
        {
          topicId: 't.c',
          name: 'Antiarrhythmics',
          severity: 'low',
          priority: 2,
          mastery: 0.7,
          estimatedHours: 1,
          prerequisiteFor: 0,
        },
      ],
    };
    const readinessBody = {
      user: ALICE,
      readiness: 62,
      predictedScore: { value: 0.68, lower: 0.61, upper: 0.75 },
      passProbability: { value: 0.81, lower: 0.72, upper: 0.88 },
      coverage: 0.74,
      daysUntilReady: 23.2,
      modelVersion: 'rf-2026-12-01',
      sections: [{ name: 'Cardiovascular', score: 0.55, weight: 0.11 }],
    };
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.route('**/api/analytics/knowledge-gaps', (r) => r.fulfill({ json: gapsBody }));
    await page.route('**/api/analytics/exam-readiness', (r) => r.fulfill({ json: readinessBody }));
    await page.goto(`${server.url}/#token=${studentToken}`);
    await page.waitForSelector('main[data-ready="true"]');
    await page.evaluate(() => (location.hash = '#/gaps'));
    await page.waitForSelector('table[data-table="gaps"]');
    expect(await page.locator('table[data-table="gaps"] tbody tr').count()).toBe(3);
    expect(await text(page, 'gaps.critical')).toBe('1');
    expect(await text(page, 'gaps.high')).toBe('1');
    expect(await page.locator('.badge.sev-critical').innerText()).toBe('critical');
    expect(await page.locator('main').innerText()).toContain('4 others');
    await page.waitForSelector('.chart svg');
    await page.evaluate(() => (location.hash = '#/readiness'));
    await page.waitForSelector('[data-k="ready.score"]');
    expect(await text(page, 'ready.score')).toBe('62');
    expect(await text(page, 'ready.predicted')).toBe('68% (61%–75%)');
    expect(await text(page, 'ready.pass')).toBe('81% (72%–88%)');
    expect(await text(page, 'ready.days')).toBe('24 days');
    expect(await text(page, 'ready.model')).toBe('rf-2026-12-01');
    expect(await page.locator('[data-state="error"]').count()).toBe(0);
    await finish(page, errors, 'readiness-shape');
  });

  it('cohort: percentiles with the student marker', async () => {
    const c = await api('/api/analytics/percentiles?window=week');
    const { page, errors } = await open('cohort');
    for (const [key, m] of Object.entries<any>(c.metrics)) {
      if (m.suppressed) continue;
      const fmt = key === 'accuracy' ? pct : num1;
      expect(await text(page, `pct.${key}.value`)).toBe(fmt(m.value));
      expect(await text(page, `pct.${key}.percentile`)).toBe(num1(m.percentile));
      expect(await text(page, `pct.${key}.p50`)).toBe(fmt(m.cohortQuantiles.p50));
      expect(await text(page, `pct.${key}.population`)).toBe(String(m.population));
    }
    await finish(page, errors, 'cohort');
  });

  it('educator: cohort topic difficulty and struggling share, no individual student on the page', async () => {
    const d = await api('/api/analytics/cohorts/big/topics?limit=50&window=week', educatorToken);
    expect(d.topics.length).toBeGreaterThan(0);
    const { page, errors } = await open('educator/big', educatorToken);
    expect(await text(page, 'cohort.size')).toBe(String(d.cohortSize));
    for (const t of d.topics) {
      expect(await text(page, `difficulty.${t.topicId}`)).toBe(pct(t.difficulty));
      expect(await text(page, `struggling.${t.topicId}`)).toBe(
        `${pct(t.strugglingShare)} of students struggle`,
      );
    }
    const body = await page.locator('main').innerText();
    for (const user of ['s00', 's01', 's05', 's11']) expect(body).not.toMatch(new RegExp(`\\b${user}\\b`));
    // Student views are not in the educator's menu.
    expect(await page.locator('nav a[href="#/mastery"]').count()).toBe(0);
    await finish(page, errors, 'educator');
  });

  it('states: empty for a student without data, error with retry when the API fails, keyboard navigation', async () => {
    const nobody = await server.token('nobody', 'student');
    const e = await open('mastery', nobody);
    await expect(e.page.locator('[data-state="empty"]').count()).resolves.toBeGreaterThan(0);
    await finish(e.page, e.errors, 'empty-state');

    const page = await context.newPage();
    await page.route('**/api/analytics/reviews*', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"internal_error","message":"internal error"}}',
      }),
    );
    await page.goto(`${server.url}/#token=${studentToken}`);
    await page.waitForSelector('main[data-ready="true"]');
    await page.evaluate(() => (location.hash = '#/reviews'));
    await page.waitForSelector('[data-state="error"] button');
    await page.unroute('**/api/analytics/reviews*');
    await page.locator('[data-state="error"] button').click();
    await page.waitForSelector('[data-k="reviews.due"]');
    await page.close();

    // Keyboard only: Tab to the skip link, then to the menu, Enter opens a view.
    const k = await open('overview');
    await k.page.keyboard.press('Tab');
    expect(await k.page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    let guard = 0;
    while ((await k.page.evaluate(() => document.activeElement?.textContent)) !== 'Reviews' && guard++ < 20) {
      await k.page.keyboard.press('Tab');
    }
    await k.page.keyboard.press('Enter');
    await k.page.waitForFunction(() => location.hash === '#/reviews');
    await k.page.waitForSelector('[data-k="reviews.due"]');
    k.errors.length = 0; // a 500 answered on purpose above belongs to the other page
    await k.page.close();
  });

  it('phone width: no horizontal scrolling, screenshots', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
      timezoneId: 'UTC',
    });
    try {
      for (const view of ['overview', 'mastery', 'efficiency']) {
        const page = await phone.newPage();
        const errors = collectErrors(page);
        await page.goto(`${server.url}/#token=${studentToken}`);
        await page.waitForSelector('main[data-ready="true"]');
        await page.evaluate((v) => (location.hash = v), `#/${view}`);
        await page.waitForFunction(
          (v) => location.hash === v && document.querySelector('main[data-ready="true"]') !== null,
          `#/${view}`,
        );
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        await finish(page, errors, `phone-${view}`);
      }
    } finally {
      await phone.close();
    }
  });
});

void NOW;
