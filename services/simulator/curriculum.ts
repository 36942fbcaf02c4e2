import { TOPICS, TOPIC_RELATIONSHIPS } from '../domain-data/taxonomy.ts';
import { Rng } from './prng.ts';

/**
 * The content the simulated students study: the taxonomy's leaf topics (those without children) with their board
 * weights, a question bank and a small material library per leaf. The content is derived from a fixed content seed,
 * not the cohort seed, so every cohort studies the same library (as on a real platform).
 */
export const CONTENT_SEED = 'studystream-content-v1';
export const QUESTIONS_PER_TOPIC = 60;

export type MaterialKind = 'TEXTBOOK' | 'ARTICLE' | 'VIDEO' | 'FLASHCARDS' | 'LECTURE_NOTES';

export interface Question {
  id: string;
  topicId: string;
  /** Discrimination (2PL a) and difficulty (2PL b, logits). */
  a: number;
  b: number;
  /** The bank's published difficulty, 0 (easy) to 1 (hard): σ(b), rounded to 2 decimals. */
  difficulty: number;
  correctOption: string;
  examSection: 'step1' | 'step2ck';
}

export interface Material {
  id: string;
  topicId: string;
  kind: MaterialKind;
  /** Median time to study it fully, ms (video: its length). */
  lengthMs: number;
}

export interface LeafTopic {
  id: string;
  system: string;
  /** Board weight normalised over leaves (sums to 1). */
  weight: number;
  questions: Question[];
  materials: Material[];
  /** Related or prerequisite leaf topics (for secondary topic ids on questions). */
  related: string[];
}

export interface Curriculum {
  leaves: LeafTopic[];
  byId: Map<string, LeafTopic>;
  systems: string[];
}

export const OPTIONS = ['A', 'B', 'C', 'D', 'E'] as const;

let cached: Curriculum | undefined;

export function curriculum(): Curriculum {
  if (cached) return cached;
  const parents = new Set(TOPICS.map((t) => t.parentId).filter((p): p is string => p !== null));
  const leafTopics = TOPICS.filter((t) => !parents.has(t.id));
  const totalWeight = leafTopics.reduce((s, t) => s + t.boardWeight, 0);
  const leafIds = new Set(leafTopics.map((t) => t.id));
  const related = new Map<string, string[]>();
  for (const r of TOPIC_RELATIONSHIPS) {
    if (!leafIds.has(r.from) || !leafIds.has(r.to)) continue;
    related.set(r.from, [...(related.get(r.from) ?? []), r.to]);
    related.set(r.to, [...(related.get(r.to) ?? []), r.from]);
  }
  const leaves = leafTopics.map((t): LeafTopic => {
    const rng = Rng.derive(CONTENT_SEED, t.id);
    const questions: Question[] = [];
    for (let i = 0; i < QUESTIONS_PER_TOPIC; i++) {
      const b = rng.normal(-0.2, 1);
      questions.push({
        id: `q-${t.id.replace(/\./g, '-')}-${String(i + 1).padStart(3, '0')}`,
        topicId: t.id,
        a: Math.min(2.5, Math.max(0.4, rng.logNormal(1.1, 0.3))),
        b,
        difficulty: Math.round((1 / (1 + Math.exp(-b))) * 100) / 100,
        correctOption: rng.pick(OPTIONS),
        examSection: rng.chance(0.7) ? 'step1' : 'step2ck',
      });
    }
    const slug = t.id.replace(/\./g, '-');
    const materials: Material[] = [
      { id: `m-${slug}-text`, topicId: t.id, kind: 'TEXTBOOK', lengthMs: rng.logNormal(25, 0.3) * 60_000 },
      {
        id: `m-${slug}-video`,
        topicId: t.id,
        kind: 'VIDEO',
        lengthMs: Math.round(rng.uniform(6, 24)) * 60_000,
      },
      {
        id: `m-${slug}-notes`,
        topicId: t.id,
        kind: 'LECTURE_NOTES',
        lengthMs: rng.logNormal(12, 0.3) * 60_000,
      },
    ];
    if (rng.chance(0.4)) {
      materials.push({
        id: `m-${slug}-article`,
        topicId: t.id,
        kind: 'ARTICLE',
        lengthMs: rng.logNormal(15, 0.3) * 60_000,
      });
    }
    return {
      id: t.id,
      system: t.system,
      weight: t.boardWeight / totalWeight,
      questions,
      materials,
      related: [...new Set(related.get(t.id) ?? [])].sort(),
    };
  });
  cached = {
    leaves,
    byId: new Map(leaves.map((l) => [l.id, l])),
    systems: [...new Set(leaves.map((l) => l.system))].sort(),
  };
  return cached;
}
