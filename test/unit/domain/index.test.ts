import { describe, expect, it } from 'vitest';
import * as domain from '../../../services/domain/index.ts';

describe('services/domain public API', () => {
  it('re-exports every module entry point', () => {
    const expected = [
      'sm2Review',
      'sm2RecallProbability',
      'qualityFromAttempt',
      'fsrsReview',
      'fsrsRecallProbability',
      'ratingFromQuality',
      'applyAttempt',
      'applyMaterialProgress',
      'computeMastery',
      'rollupToParent',
      'applySessionEvent',
      'mergeSessions',
      'summarizeSession',
      'wilsonInterval',
      'betaInterval',
      'percentileRank',
      'ewma',
      'kAnonymous',
      'scoreGap',
      'detectKnowledgeGaps',
      'prerequisiteImpact',
      'recommendedStudyPath',
      'hoursToClose',
    ];
    for (const name of expected)
      expect(typeof (domain as Record<string, unknown>)[name], name).toBe('function');
  });
});
