/** Tiny DOM helpers: elements from tag, attributes and children (text is always set as text, never as HTML). */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
}

/** A labelled figure: <div class="stat"><dt>label</dt><dd data-k=key>value</dd></div>; tests read data-k. */
export function stat(label: string, value: string, key: string, hint?: string): HTMLElement {
  return h(
    'div',
    { class: 'stat' },
    h('dt', {}, label),
    h('dd', { 'data-k': key }, value),
    hint ? h('dd', { class: 'hint' }, hint) : null,
  );
}

export function stats(...items: HTMLElement[]): HTMLElement {
  return h('dl', { class: 'stats' }, ...items);
}

export function card(title: string, ...children: Child[]): HTMLElement {
  const id = `c-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

export function loading(what: string): HTMLElement {
  return h('p', { class: 'state loading', role: 'status', 'aria-live': 'polite' }, `Loading ${what}…`);
}

export function empty(text: string): HTMLElement {
  return h('p', { class: 'state empty', 'data-state': 'empty' }, text);
}

export function errorState(message: string, retry?: () => void): HTMLElement {
  return h(
    'div',
    { class: 'state error', role: 'alert', 'data-state': 'error' },
    h('p', {}, `Could not load: ${message}`),
    retry ? h('button', { type: 'button', onclick: () => retry() }, 'Try again') : null,
  );
}

export function unavailable(what: string, detail: string): HTMLElement {
  return h(
    'div',
    { class: 'state unavailable', 'data-state': 'unavailable' },
    h('p', {}, h('strong', {}, `${what}: not available yet.`)),
    h(
      'p',
      { class: 'hint' },
      `The API does not offer this yet (${detail}). This view fills in once it does.`,
    ),
  );
}

/** A table with a caption; rows of cells (strings or nodes). */
export function table(caption: string, head: string[], rows: Child[][], key?: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h(
      'table',
      key ? { 'data-table': key } : {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
    ),
  );
}
