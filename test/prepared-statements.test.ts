import { describe, expect, it, vi } from 'vitest';
import { statementNames } from '../src/db/adapters.ts';
import { graphql } from './gql/index.ts';
import { query } from './support/api.ts';

vi.hoisted(() => {
  // one connection: the prepared statements seen below are the ones the requests used
  process.env.DB_POOL_SIZE = '1';
});

const { prisma, poolStats } = await import('../src/db/client.ts');

/**
 * Statements are sent as named prepared statements, so a connection parses and plans each SQL
 * text once (issue 14: the peer did this and the API re-planned every request), with a bound on
 * how many one process names.
 */

const Newest = graphql(`
  query PreparedNewest($first: Int!) {
    articles(first: $first, filter: { priority: { gte: 2 } }) {
      edges {
        node {
          id
          title
          authors {
            name
          }
        }
      }
    }
  }
`);

describe('named prepared statements', () => {
  it('names each distinct SQL text once, and runs texts past the limit unnamed', () => {
    const name = statementNames(2);
    expect(name({ sql: 'SELECT 1' })).toBe(name({ sql: 'SELECT 1' }));
    expect(name({ sql: 'SELECT 2' })).not.toBe(name({ sql: 'SELECT 1' }));
    expect(name({ sql: 'SELECT 3' })).toBe('');
    // the texts named before the limit keep their names
    expect(name({ sql: 'SELECT 2' })).toMatch(/^newsgraph_\d+$/);
  });

  it('prepares a request statement once on the connection and reuses it', async () => {
    const statements = async () =>
      prisma.$queryRaw<{ name: string }[]>`
        SELECT "name" FROM pg_prepared_statements WHERE "name" LIKE 'newsgraph\\_%'`;
    await query(Newest, { first: 5 });
    const once = await statements();
    expect(once.length).toBeGreaterThan(0);
    // the same request, other values: no new statement is prepared
    await query(Newest, { first: 7 });
    await query(Newest, { first: 3 });
    expect((await statements()).map((row) => row.name).sort()).toEqual(once.map((row) => row.name).sort());
  });
  it('prepares again on a new connection to a session that kept them (the embedded database has one)', async () => {
    await query(Newest, { first: 5 });
    // the pool closes a connection idle for 10 s; the next request opens another
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(poolStats().total).toBe(0);
    expect((await query(Newest, { first: 5 })).articles.edges).toBeDefined();
  }, 30_000);
});
