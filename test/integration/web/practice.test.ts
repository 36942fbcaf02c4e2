/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { registerAll } from '../../../services/cli/commands/schemas.ts';
import { loadIngestConfig } from '../../../services/ingest/config.ts';
import { buildIngest, closeIngest, type IngestService } from '../../../services/ingest/service.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { ensureWebBuilt } from '../../../services/web/build.ts';
import { collectErrors, ensureDir, launchChromium } from '../../support/browser.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort } from '../../support/process.ts';
import { readEventTopics } from '../../support/topics.ts';
import { until } from '../../support/wait.ts';
import { runEnv, startInProcess, type Running } from '../processors/support.ts';
import { startWebServer, type WebServer } from './server.ts';

/**
 * The practice page end to end in Chromium: the client SDK's browser build (offline queue in localStorage) sends
 * answers through the API's dev-mode proxy to the real ingest service; the mastery and sessions processors consume
 * the topics; the dashboard shows the effect. Once with the network cut (Playwright's setOffline) and restored.
 * Every event the page posted is on the topics exactly once.
 */

const RUN_DIR = fileURLToPath(new URL('../../../test-results/web/', import.meta.url));
const DOCS_DIR = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const log = createLogger('test', 'warn');
const iso = isolatedEnv('webpractice');
const USER = 'web-practice-1';

let ingest: IngestService;
let processors: Running;
let server: WebServer;
let browser: Browser;

beforeAll(async () => {
  await ensureWebBuilt();
  await provision(iso);
  await registerAll(iso.cfg, log);
  const port = await freePort();
  ingest = await buildIngest(loadIngestConfig({ ...iso.env, INGEST_PORT: String(port) }), log);
  await ingest.start(port, '127.0.0.1');
  processors = await startInProcess(runEnv(iso, iso, 'web'));
  server = await startWebServer({
    iso,
    fixture: false,
    now: Date.now,
    ingestUrl: `http://127.0.0.1:${port}`,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await processors?.stop();
  if (ingest) await closeIngest(ingest);
  await teardown(iso);
});

async function answer(page: Page, question: string): Promise<void> {
  await page.locator(`fieldset[data-question="${question}"] button[data-correct="true"]`).click();
  await page.waitForSelector(`fieldset[data-question="${question}"] p`);
}

const text = (page: Page, key: string) => page.locator(`[data-k="${key}"]`).first().innerText();

describe('practice page (SDK browser build) end to end', () => {
  it('answers online and offline; every event once on the topics; mastery and live session change', async () => {
    const token = await server.token(USER, 'student');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectErrors(page);
    const posted = new Set<string>();
    page.on('request', (req) => {
      if (!req.url().endsWith('/api/dev/ingest/v1/events/batch')) return;
      for (const e of (req.postDataJSON() as { events: Array<{ event_id: string }> }).events)
        posted.add(e.event_id);
    });
    await page.goto(`${server.url}/?poll=500#token=${token}`);
    await page.waitForSelector('main[data-ready="true"]');
    await page.evaluate(() => (location.hash = '#/practice'));
    await page.waitForSelector('fieldset[data-question="practice-q1"]');

    // Online: the session start and two answers are accepted by ingest.
    await answer(page, 'practice-q1');
    await answer(page, 'practice-q2');
    await until('3 accepted', async () => (await text(page, 'practice.accepted')) === '3');

    // Offline: answers wait in localStorage.
    await context.setOffline(true);
    await answer(page, 'practice-q3');
    await answer(page, 'practice-q4');
    await until('2 queued', async () => (await text(page, 'practice.queued')) === '2');
    const stored = await page.evaluate(
      (u) => JSON.parse(localStorage.getItem(`studystream.practice.${u}`) ?? '[]').length as number,
      USER,
    );
    expect(stored).toBe(2);
    expect(await text(page, 'practice.accepted')).toBe('3');

    // Back online: the queue drains by itself.
    await context.setOffline(false);
    await until('the queue to drain', async () => (await text(page, 'practice.queued')) === '0', 30_000);
    await answer(page, 'practice-q5');
    await until('6 accepted', async () => (await text(page, 'practice.accepted')) === '6');
    expect(await page.evaluate((u) => localStorage.getItem(`studystream.practice.${u}`), USER)).toBeNull();

    // Exactly once on the topics: the six events the page posted (some possibly more than once), no more.
    expect(posted.size).toBe(6);
    const records = (await readEventTopics(iso.cfg, `${iso.id}-reader`, 6)).map((r) => r.record);
    const ids = records.map((r) => r.event_id as string);
    expect(ids.length).toBe(6);
    expect(new Set(ids)).toEqual(posted);
    expect(records.every((r) => r.user_id === USER)).toBe(true);
    expect(records.filter((r) => 'question_id' in r).length).toBe(5);

    // The effect in the API and on the page: five answers in mastery, a live session with five questions.
    const student = token;
    await until(
      'mastery to count the answers',
      async () => {
        const m = (await server.api('/api/analytics/mastery?level=2', student)).body as any;
        return m.topics.reduce((s: number, t: any) => s + t.attempts, 0) === 5;
      },
      90_000,
    );
    await until(
      'the live session',
      async () => {
        const d = (await server.api('/api/analytics/dashboard', student)).body as any;
        return d.liveSession?.questionsAnswered === 5;
      },
      90_000,
    );
    await page.waitForFunction(
      () => document.querySelector('[data-k="live.questionsAnswered"]')?.textContent === '5',
      undefined,
      { timeout: 15_000 },
    );
    const m = (await server.api('/api/analytics/mastery?level=2', student)).body as any;
    for (const t of m.topics) {
      expect(await text(page, `practice.topic.${t.topicId}`)).toContain(`(${t.attempts} answers)`);
    }
    const shot = join(ensureDir(RUN_DIR), 'practice.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(shot, join(ensureDir(DOCS_DIR), 'practice.png'));
    // While offline Chromium logs the failed requests; nothing else may be logged.
    expect(errors.filter((e) => !e.includes('ERR_INTERNET_DISCONNECTED'))).toEqual([]);
    await context.close();
  });
});
