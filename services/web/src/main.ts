import './style.css';
import { getJson, storeToken, token } from './api.ts';
import { disposeCharts, preloadCharts } from './charts.ts';
import { card, h, loading } from './dom.ts';
import { tokenClaims } from './format.ts';
import type { View, ViewContext } from './view.ts';
import { cohort } from './views/cohort.ts';
import { educator } from './views/educator.ts';
import { efficiency } from './views/efficiency.ts';
import { gaps } from './views/gaps.ts';
import { mastery, masteryTopic } from './views/mastery.ts';
import { overview } from './views/overview.ts';
import { patterns } from './views/patterns.ts';
import { practice } from './views/practice.ts';
import { readiness } from './views/readiness.ts';
import { reviews } from './views/reviews.ts';

/** Routes (hash based: the API serves one page): path, title, view, who sees it in the menu. */
type Route = { path: string; title: string; view: View; roles: string[]; menu?: boolean };
const ROUTES: Route[] = [
  { path: 'overview', title: 'Overview', view: overview, roles: ['student', 'admin'] },
  { path: 'mastery', title: 'Mastery', view: mastery, roles: ['student', 'admin'] },
  { path: 'topic', title: 'Topic', view: masteryTopic, roles: ['student', 'admin'], menu: false },
  { path: 'reviews', title: 'Reviews', view: reviews, roles: ['student', 'admin'] },
  { path: 'efficiency', title: 'Study efficiency', view: efficiency, roles: ['student', 'admin'] },
  { path: 'gaps', title: 'Knowledge gaps', view: gaps, roles: ['student', 'admin'] },
  { path: 'readiness', title: 'Exam readiness', view: readiness, roles: ['student', 'admin'] },
  { path: 'patterns', title: 'Learning patterns', view: patterns, roles: ['student', 'admin'] },
  { path: 'cohort', title: 'Cohort', view: cohort, roles: ['student', 'admin'] },
  { path: 'practice', title: 'Practice', view: practice, roles: ['student'] },
  { path: 'educator', title: 'Cohort topics', view: educator, roles: ['educator', 'admin'] },
];

const app = document.getElementById('app')!;
let leave: Array<() => void> = [];
let renderSeq = 0;

function parseHash(): { path: string; arg: string } {
  const [path = '', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  // #/mastery/{topic} is the topic view.
  if (path === 'mastery' && rest.length) return { path: 'topic', arg: decodeURIComponent(rest.join('/')) };
  return { path, arg: decodeURIComponent(rest.join('/')) };
}

function cleanup(): void {
  for (const stop of leave) stop();
  leave = [];
  disposeCharts();
}

async function render(): Promise<void> {
  const seq = ++renderSeq;
  cleanup();
  const tok = token();
  const claims = tok ? tokenClaims(tok) : {};
  if (!tok || !claims.sub || (claims.exp !== undefined && claims.exp * 1000 < Date.now())) {
    if (tok) storeToken(null);
    await signIn();
    return;
  }
  const role = claims.role ?? 'student';
  const visible = ROUTES.filter((r) => r.roles.includes(role));
  let { path, arg } = parseHash();
  let route = visible.find((r) => r.path === path);
  if (!route) {
    route = visible[0]!;
    path = route.path;
    arg = '';
    history.replaceState(null, '', `#/${route.path}`);
  }
  const main = h(
    'main',
    { id: 'main', tabindex: -1 },
    h('h1', {}, route.title),
    loading(route.title.toLowerCase()),
  );
  app.replaceChildren(shell(visible, route, claims.sub, role), main);
  document.title = `${route.title} · studystream`;
  const ctx: ViewContext = {
    sub: claims.sub,
    role,
    cohorts: claims.cohorts ?? [],
    arg,
    onLeave: (stop) => leave.push(stop),
    reload: () => void render(),
  };
  const started = performance.now();
  let content: HTMLElement;
  try {
    content = await route.view(ctx);
  } catch (err) {
    content = h(
      'div',
      { class: 'state error', role: 'alert', 'data-state': 'error' },
      `This view failed: ${(err as Error).message}`,
    );
  }
  if (seq !== renderSeq) return;
  main.replaceChildren(h('h1', {}, route.title), content);
  main.dataset.ready = 'true';
  main.dataset.renderMs = String(Math.round(performance.now() - started));
  performance.mark(`view-ready:${route.path}`);
  setTimeout(preloadCharts, 200);
}

function shell(routes: Route[], current: Route, sub: string, role: string): HTMLElement {
  const menu = routes.filter((r) => r.menu !== false);
  const currentPath = current.path === 'topic' ? 'mastery' : current.path;
  return h(
    'header',
    { class: 'top' },
    h(
      'a',
      {
        class: 'skip',
        href: '#main',
        onclick: (e: Event) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        },
      },
      'Skip to content',
    ),
    h('span', { class: 'brand' }, 'studystream'),
    h(
      'nav',
      { 'aria-label': 'Views' },
      h(
        'ul',
        {},
        ...menu.map((r) =>
          h(
            'li',
            {},
            h('a', { href: `#/${r.path}`, 'aria-current': r.path === currentPath ? 'page' : null }, r.title),
          ),
        ),
      ),
    ),
    h(
      'div',
      { class: 'who' },
      h('span', { 'data-k': 'who' }, `${sub} (${role})`),
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            storeToken(null);
            location.hash = '';
            void render();
          },
        },
        'Sign out',
      ),
    ),
  );
}

type DevUsers = {
  students: Array<{ id: string; answers: number; token: string }>;
  educator: { id: string; cohorts: Array<{ id: string; name: string; members: number }>; token: string };
};

async function signIn(): Promise<void> {
  document.title = 'Sign in · studystream';
  const main = h(
    'main',
    { id: 'main', class: 'signin' },
    h('h1', {}, 'Sign in to studystream'),
    loading('sign-in options'),
  );
  app.replaceChildren(main);
  const use = (t: string) => {
    storeToken(t);
    location.hash = '';
    void render();
  };
  const dev = await getJson<DevUsers>('/api/dev/sign-in');
  const input = h('textarea', { id: 'token', rows: 3, autocomplete: 'off', spellcheck: 'false' });
  const form = h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        const t = input.value.trim();
        if (t) use(t);
      },
    },
    h('label', { for: 'token' }, 'Bearer token from your identity provider'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  const parts: HTMLElement[] = [];
  if (dev.kind === 'ok') {
    parts.push(
      card(
        'Demo sign-in (development mode)',
        h('p', { class: 'hint' }, 'Tokens minted by this development server; never offered in production.'),
        dev.data.students.length === 0
          ? h(
              'p',
              {},
              'No student has answers yet (the processors may still be catching up): reload in a moment.',
            )
          : null,
        h(
          'ul',
          { class: 'pick' },
          ...dev.data.students.map((s) =>
            h(
              'li',
              {},
              h(
                'button',
                { type: 'button', 'data-user': s.id, onclick: () => use(s.token) },
                `Student ${s.id}`,
              ),
              ` ${s.answers} answers`,
            ),
          ),
          h(
            'li',
            {},
            h(
              'button',
              {
                type: 'button',
                'data-user': dev.data.educator.id,
                onclick: () => use(dev.data.educator.token),
              },
              'Demo educator',
            ),
            ` cohorts: ${dev.data.educator.cohorts.map((c) => `${c.id} (${c.members})`).join(', ') || 'none'}`,
          ),
        ),
      ),
    );
  }
  parts.push(card('Sign in with a token', form));
  main.replaceChildren(h('h1', {}, 'Sign in to studystream'), ...parts);
  main.dataset.ready = 'true';
}

window.addEventListener('hashchange', () => void render());
window.addEventListener('studystream:unauthorized', () => {
  storeToken(null);
  void render();
});

// One-click demo sign-in: `npm start` prints /#token=...; the token moves to session storage and leaves the URL.
const fromUrl = /^#token=([A-Za-z0-9._-]+)$/.exec(location.hash);
if (fromUrl) {
  storeToken(fromUrl[1]!);
  history.replaceState(null, '', location.pathname + location.search);
}
void render();
