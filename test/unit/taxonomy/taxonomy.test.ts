import { describe, expect, it } from 'vitest';
import {
  DISCIPLINES,
  SYSTEM_WEIGHT_TABLE,
  SYSTEM_WEIGHTS,
  TOPIC_RELATIONSHIPS,
  TOPICS,
  TOPICS_BY_ID,
} from '../../../services/domain-data/taxonomy.ts';
import type { Topic } from '../../../services/domain-data/taxonomy.ts';

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*$/;
const EPS = 1e-12;

function childrenOf(id: string): Topic[] {
  return TOPICS.filter((t) => t.parentId === id);
}

describe('taxonomy topics', () => {
  it('has at least 150 topics', () => {
    expect(TOPICS.length).toBeGreaterThanOrEqual(150);
  });

  it('has unique, valid slugs', () => {
    const ids = TOPICS.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id, id).toMatch(SLUG);
    expect(TOPICS_BY_ID.size).toBe(ids.length);
  });

  it('has one system per weight-table row, at level 0 without parent or discipline', () => {
    const systems = TOPICS.filter((t) => t.level === 0);
    expect(systems.map((t) => t.id).sort()).toEqual(SYSTEM_WEIGHT_TABLE.map((r) => r.system).sort());
    for (const s of systems) {
      expect(s.parentId).toBeNull();
      expect(s.discipline).toBeNull();
      expect(s.system).toBe(s.id);
    }
  });

  it('every parent exists, precedes its child, and is one level up in the same system', () => {
    const seen = new Set<string>();
    for (const t of TOPICS) {
      if (t.level === 0) {
        expect(t.parentId).toBeNull();
      } else {
        expect(t.parentId, t.id).not.toBeNull();
        const parent = TOPICS_BY_ID.get(t.parentId!);
        expect(parent, `parent of ${t.id}`).toBeDefined();
        expect(seen.has(parent!.id), `${parent!.id} listed before ${t.id}`).toBe(true);
        expect(parent!.level).toBe(t.level - 1);
        expect(parent!.system).toBe(t.system);
        expect(t.id.startsWith(`${parent!.id}.`), t.id).toBe(true);
        if (t.level === 2) expect(t.discipline).toBe(parent!.discipline);
      }
      seen.add(t.id);
    }
  });

  it('uses only known disciplines below level 0, and every area has topics', () => {
    for (const t of TOPICS.filter((x) => x.level > 0)) {
      expect(Object.keys(DISCIPLINES)).toContain(t.discipline);
    }
    for (const t of TOPICS.filter((x) => x.level < 2)) {
      expect(childrenOf(t.id).length, t.id).toBeGreaterThan(0);
    }
  });

  it('has non-empty names and descriptions', () => {
    for (const t of TOPICS) {
      expect(t.name.trim().length, t.id).toBeGreaterThan(0);
      expect(t.description.trim().length, t.id).toBeGreaterThan(0);
    }
  });

  it('has unique topic names within each parent', () => {
    const keys = TOPICS.map((t) => `${t.parentId ?? ''}|${t.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('taxonomy board weights', () => {
  it('are positive and system weights sum to 1', () => {
    for (const t of TOPICS) expect(t.boardWeight, t.id).toBeGreaterThan(0);
    const systems = TOPICS.filter((t) => t.level === 0);
    const total = systems.reduce((s, t) => s + t.boardWeight, 0);
    expect(Math.abs(total - 1)).toBeLessThan(EPS);
    const leaves = TOPICS.filter((t) => t.level === 2);
    expect(Math.abs(leaves.reduce((s, t) => s + t.boardWeight, 0) - 1)).toBeLessThan(1e-9);
  });

  it("children's weights sum to the parent's weight", () => {
    for (const parent of TOPICS.filter((t) => t.level < 2)) {
      const sum = childrenOf(parent.id).reduce((s, t) => s + t.boardWeight, 0);
      expect(Math.abs(sum - parent.boardWeight), parent.id).toBeLessThan(EPS);
    }
  });

  it('system weights are the normalised midpoints of the published ranges', () => {
    const raw = SYSTEM_WEIGHT_TABLE.map((r) => ((r.range[0] + r.range[1]) / 2) * r.share);
    const total = raw.reduce((a, b) => a + b, 0);
    SYSTEM_WEIGHT_TABLE.forEach((r, i) => {
      expect(SYSTEM_WEIGHTS[r.system]).toBeCloseTo(raw[i]! / total, 12);
      expect(TOPICS_BY_ID.get(r.system)!.boardWeight).toBeCloseTo(raw[i]! / total, 12);
    });
    // Shares of systems that split one outline line add up to 1.
    const byLine = new Map<string, number>();
    for (const r of SYSTEM_WEIGHT_TABLE)
      byLine.set(r.outlineLine, (byLine.get(r.outlineLine) ?? 0) + r.share);
    for (const [line, share] of byLine) expect(share, line).toBeCloseTo(1, 12);
  });
});

describe('taxonomy relationships', () => {
  it('has at least 100 edges, with both ends existing and no self-loops', () => {
    expect(TOPIC_RELATIONSHIPS.length).toBeGreaterThanOrEqual(100);
    for (const r of TOPIC_RELATIONSHIPS) {
      expect(TOPICS_BY_ID.has(r.from), r.from).toBe(true);
      expect(TOPICS_BY_ID.has(r.to), r.to).toBe(true);
      expect(r.from).not.toBe(r.to);
      expect(['prerequisite', 'related']).toContain(r.kind);
      expect(r.strength).toBeGreaterThan(0);
      expect(r.strength).toBeLessThanOrEqual(1);
    }
  });

  it('has no duplicate edges (related edges are undirected; primary key is from, to, kind)', () => {
    const keys = TOPIC_RELATIONSHIPS.map((r) =>
      r.kind === 'related'
        ? ['related', ...[r.from, r.to].sort()].join('|')
        : `prerequisite|${r.from}|${r.to}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
    // A pair is not both prerequisite and related.
    const prereqPairs = new Set(
      TOPIC_RELATIONSHIPS.filter((r) => r.kind === 'prerequisite').map((r) =>
        [r.from, r.to].sort().join('|'),
      ),
    );
    for (const r of TOPIC_RELATIONSHIPS.filter((x) => x.kind === 'related')) {
      expect(prereqPairs.has([r.from, r.to].sort().join('|')), `${r.from} ~ ${r.to}`).toBe(false);
    }
  });

  it('prerequisite edges form a DAG (Kahn topological sort consumes every node)', () => {
    const prereqs = TOPIC_RELATIONSHIPS.filter((r) => r.kind === 'prerequisite');
    const indegree = new Map<string, number>(TOPICS.map((t) => [t.id, 0]));
    const out = new Map<string, string[]>();
    for (const r of prereqs) {
      indegree.set(r.to, indegree.get(r.to)! + 1);
      out.set(r.from, [...(out.get(r.from) ?? []), r.to]);
    }
    const queue = [...indegree].filter(([, d]) => d === 0).map(([id]) => id);
    let visited = 0;
    while (queue.length > 0) {
      const id = queue.pop()!;
      visited++;
      for (const next of out.get(id) ?? []) {
        const d = indegree.get(next)! - 1;
        indegree.set(next, d);
        if (d === 0) queue.push(next);
      }
    }
    const inCycle = [...indegree].filter(([, d]) => d > 0).map(([id]) => id);
    expect(inCycle).toEqual([]);
    expect(visited).toBe(TOPICS.length);
  });

  it('connects topics to ancestors only through the hierarchy, not through edges', () => {
    // An edge between a topic and its own ancestor would duplicate the hierarchy.
    const ancestors = (id: string): Set<string> => {
      const out = new Set<string>();
      for (let p = TOPICS_BY_ID.get(id)?.parentId; p; p = TOPICS_BY_ID.get(p)?.parentId) out.add(p);
      return out;
    };
    for (const r of TOPIC_RELATIONSHIPS) {
      expect(ancestors(r.from).has(r.to), `${r.from} -> ${r.to}`).toBe(false);
      expect(ancestors(r.to).has(r.from), `${r.from} -> ${r.to}`).toBe(false);
    }
  });

  it('includes the canonical chains', () => {
    const has = (from: string, to: string) =>
      TOPIC_RELATIONSHIPS.some((r) => r.kind === 'prerequisite' && r.from === from && r.to === to);
    expect(has('cardio.phys.cardiac-output', 'cardio.path.heart-failure')).toBe(true);
    expect(has('cardio.path.heart-failure', 'cardio.pharm.heart-failure-drugs')).toBe(true);
    expect(has('renal.phys.acid-base', 'renal.path.renal-tubular-acidosis')).toBe(true);
  });
});
