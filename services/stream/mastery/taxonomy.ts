import type { Pool } from '../../shared/postgres.ts';

export type TopicNode = {
  id: string;
  parentId: string | null;
  level: number;
  weight: number;
  children: string[];
};

/** The topic tree as the processors need it (loaded once at start from the `topics` table). */
export class TopicTree {
  readonly nodes = new Map<string, TopicNode>();

  constructor(
    rows: ReadonlyArray<{ id: string; parent_id: string | null; level: number; board_weight: number }>,
  ) {
    for (const r of rows)
      this.nodes.set(r.id, {
        id: r.id,
        parentId: r.parent_id,
        level: r.level,
        weight: r.board_weight,
        children: [],
      });
    for (const n of [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1)))
      if (n.parentId !== null) this.nodes.get(n.parentId)?.children.push(n.id);
  }

  static async load(pool: Pool): Promise<TopicTree> {
    const { rows } = await pool.query<{
      id: string;
      parent_id: string | null;
      level: number;
      board_weight: number;
    }>('SELECT id, parent_id, level, board_weight FROM topics');
    if (rows.length === 0) throw new Error('the topics table is empty: run `studystream migrate` first');
    return new TopicTree(rows);
  }

  kind(id: string): 'leaf' | 'parent' | undefined {
    const n = this.nodes.get(id);
    if (n === undefined) return undefined;
    return n.children.length === 0 ? 'leaf' : 'parent';
  }
}
