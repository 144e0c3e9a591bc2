import { expect, it } from 'vitest';
import { evaluateStories, storyEvaluationSet } from '../bench/stories.ts';
import { prisma } from '../src/db/client.ts';

/**
 * The story detector's quality on the labelled evaluation set (bench/stories.ts), a small one:
 * the targets of issue 15 (precision >= 0.98, recall >= 0.95 of "same story" pairs) hold, or CI
 * fails. The benchmark (`npm run bench -- --stories`) reports the same on a few thousand bases.
 */
it('groups syndicated copies and keeps hard negatives apart, within the targets', async () => {
  const set = storyEvaluationSet(Number(process.env.STORY_EVAL_BASES ?? 200));
  const scores = await evaluateStories(prisma, set);
  console.info(`story evaluation: ${JSON.stringify(scores)}`);
  expect(scores.truePairs).toBeGreaterThan(100);
  expect(scores.precision).toBeGreaterThanOrEqual(0.98);
  expect(scores.recall).toBeGreaterThanOrEqual(0.95);
}, 120_000);
