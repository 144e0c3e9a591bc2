import { describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import { codes, execute } from './support/api.ts';

const Titles = graphql(`
  query MaskedTitles {
    articles(first: 5) {
      edges {
        node {
          title
        }
      }
    }
  }
`);

describe('unexpected errors', () => {
  it('are masked: no SQL, table names or stack traces reach the client', async () => {
    // break the database under the running API
    await prisma.$executeRawUnsafe('ALTER TABLE "Article" RENAME TO "ArticleGone"');
    const result = await execute(Titles);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(result.errors?.[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(result)).not.toMatch(/Article"|SELECT|relation|prisma|\.ts:/i);
    await prisma.$executeRawUnsafe('ALTER TABLE "ArticleGone" RENAME TO "Article"');
    expect((await execute(Titles)).errors).toBeUndefined();
  });
});
