/**
 * Pure helpers of the dashboard (no DOM): number formats, the UTC-to-local shift of the time-of-day heatmap, the
 * forgetting curve, the mastery tree. Unit-tested in test/unit/web/format.test.ts.
 */

/** A share (0..1) as a whole percent, "64%"; null as an en dash. */
export function pct(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${Math.round(x * 100)}%` : '–';
}

/** A number with at most `digits` decimals, "52.5"; null as an en dash. */
export function num(x: number | null | undefined, digits = 1): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  const f = 10 ** digits;
  return String(Math.round(x * f) / f);
}

/** Minutes as "1 h 05 min" or "25 min". */
export function minutes(m: number | null | undefined): string {
  if (typeof m !== 'number' || !Number.isFinite(m)) return '–';
  const total = Math.round(m);
  if (total < 60) return `${total} min`;
  return `${Math.floor(total / 60)} h ${String(total % 60).padStart(2, '0')} min`;
}

/** A date-time as the local day and time, "15 Mar, 09:00". */
export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  return d.toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export type HeatCell = { weekday: number; hour: number; value: number };

/**
 * The API's heatmap is by ISO weekday (1 = Monday) and UTC hour; the chart shows local time. `offsetMinutes` is
 * local minus UTC (e.g. +60 in Berlin in winter, i.e. -Date.getTimezoneOffset()). Whole-hour shifts only: a
 * half-hour zone moves each cell to the hour its start falls in.
 */
export function toLocalCells(cells: readonly HeatCell[], offsetMinutes: number): HeatCell[] {
  const out = new Map<string, HeatCell>();
  for (const c of cells) {
    const utc = (c.weekday - 1) * 24 * 60 + c.hour * 60;
    const week = 7 * 24 * 60;
    const local = (((utc + offsetMinutes) % week) + week) % week;
    const weekday = Math.floor(local / (24 * 60)) + 1;
    const hour = Math.floor((local % (24 * 60)) / 60);
    const key = `${weekday}:${hour}`;
    const prev = out.get(key);
    out.set(key, { weekday, hour, value: (prev?.value ?? 0) + c.value });
  }
  return [...out.values()].sort((a, b) => a.weekday - b.weekday || a.hour - b.hour);
}

/** FSRS's power forgetting curve: recall probability after `days` for stability `stability` (R = 0.9 at t = S). */
export function recall(days: number, stability: number): number {
  const F = 19 / 81;
  return (1 + (F * Math.max(0, days)) / Math.max(stability, 1e-6)) ** -0.5;
}

/**
 * A topic's forgetting curve estimated from its schedule: the scheduler sets the next review where recall falls to
 * 0.9, so the stability is the time from the last update (asOf) to the next review. Null without both dates or
 * when the review is not after the update.
 */
export function forgettingCurve(
  asOf: string | null,
  nextReviewAt: string | null,
  days: number,
): Array<[number, number]> | null {
  if (!asOf || !nextReviewAt) return null;
  const s = (Date.parse(nextReviewAt) - Date.parse(asOf)) / 86_400_000;
  if (!Number.isFinite(s) || s <= 0) return null;
  const points: Array<[number, number]> = [];
  for (let d = 0; d <= days; d++) points.push([d, Math.round(recall(d, s) * 1000) / 1000]);
  return points;
}

export type TreeTopic = {
  topicId: string;
  name: string;
  parentId: string | null;
  score: number;
  attempts: number;
};
export type TreeNode = { id: string; name: string; value: number; score: number; children?: TreeNode[] };

/**
 * The mastery list as a tree (systems > disciplines > topics) for the treemap: a node's area is its answers, its
 * colour its mastery score. Topics whose parent is not in the list hang at the top level.
 */
export function masteryTree(topics: readonly TreeTopic[]): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const t of topics) {
    nodes.set(t.topicId, { id: t.topicId, name: t.name, value: Math.max(1, t.attempts), score: t.score });
  }
  const roots: TreeNode[] = [];
  for (const t of topics) {
    const node = nodes.get(t.topicId)!;
    const parent = t.parentId ? nodes.get(t.parentId) : undefined;
    if (parent) (parent.children ??= []).push(node);
    else roots.push(node);
  }
  return roots;
}

/** The claims of a JWT (no verification: the page only reads who it signed in as; the API verifies). */
export function tokenClaims(token: string): {
  sub?: string;
  role?: string;
  cohorts?: string[];
  exp?: number;
} {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, never>) : {};
  } catch {
    return {};
  }
}

/** Reads a nested field defensively: path "a.b.0.c"; undefined when any step is missing. */
export function pick(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The first field present among `paths`, as a number (null otherwise). */
export function firstNumber(value: unknown, ...paths: string[]): number | null {
  for (const p of paths) {
    const v = pick(value, p);
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** The first field present among `paths`, as an array (empty otherwise). */
export function firstArray(value: unknown, ...paths: string[]): unknown[] {
  for (const p of paths) {
    const v = pick(value, p);
    if (Array.isArray(v)) return v;
  }
  return [];
}

/** The first field present among `paths`, as a string (null otherwise). */
export function firstString(value: unknown, ...paths: string[]): string | null {
  for (const p of paths) {
    const v = pick(value, p);
    if (typeof v === 'string') return v;
  }
  return null;
}

export type Grid = { systems: string[]; disciplines: string[]; cells: Array<[number, number, number]> };

/**
 * The mastery heatmap's grid: one cell per level-1 topic (a system's discipline, id "system.discipline", named
 * "System — Discipline"), rows = systems, columns = disciplines, value = score. Systems and disciplines are listed
 * in first-seen order; other levels are ignored.
 */
export function systemDisciplineGrid(
  topics: ReadonlyArray<{ topicId: string; name: string; level: number; score: number }>,
): Grid {
  const systems: string[] = [];
  const disciplines: string[] = [];
  const cells: Array<[number, number, number]> = [];
  for (const t of topics) {
    if (t.level !== 1) continue;
    const [system = t.topicId, discipline = t.topicId] = t.name.split(' — ');
    if (!systems.includes(system)) systems.push(system);
    if (!disciplines.includes(discipline)) disciplines.push(discipline);
    cells.push([disciplines.indexOf(discipline), systems.indexOf(system), t.score]);
  }
  return { systems, disciplines, cells };
}
