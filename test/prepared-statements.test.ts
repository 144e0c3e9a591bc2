import { describe, expect, it, vi } from 'vitest';
import { statementNames } from '../src/db/adapters.ts';
import { graphql } from './gql/index.ts';
import { codes, execute, query } from './support/api.ts';
import { globalId, seedDemo } from './support/demo.ts';
import { callers } from './support/keys.ts';
import { serverUrl } from './support/targets.ts';

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

const Update = graphql(`
  mutation PreparedUpdate($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
    }
  }
`);

const Newest = graphql(`
  query PreparedNewest($first: Int!) {
    articles(first: $first, filter: { priority: { gte: 2 } }) {
      edges {
        node {
          id
          title
          source
          authors {
            name
          }
        }
      }
    }
  }
`);

const SearchFacets = graphql(`
  query PreparedSearchFacets($search: String!) {
    articleFacets(search: $search, topTopics: 3) {
      total
      topics {
        count
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

  it('runs searches and LIKE patterns unnamed, so each is planned for its own text', async () => {
    const name = statementNames();
    for (const sql of [
      `SELECT 1 FROM "Article" a CROSS JOIN websearch_to_tsquery('english', $1) AS query`,
      `SELECT 1 FROM "Article" WHERE "title" ILIKE $1`,
      `SELECT 1 FROM "Article" WHERE "urlKey" LIKE $1`,
    ]) {
      expect(name({ sql })).toBe('');
    }
    expect(name({ sql: 'SELECT 1 FROM "Article" WHERE "priority" >= $1' })).toMatch(/^newsgraph_\d+$/);
  });

  it('prepares no named statement for a search request', async () => {
    const searches = () =>
      prisma.$queryRaw<{ name: string }[]>`
        SELECT "name" FROM pg_prepared_statements WHERE "statement" LIKE '%websearch\_to\_tsquery%'`;
    for (let n = 0; n < 7; n++) {
      expect(codes(await execute(SearchFacets, { search: n % 2 ? 'council' : 'harbour' }))).toEqual([]);
    }
    expect(await searches()).toEqual([]);
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
  it('prepares again after a migration changes a column type under a statement, answering 503 at most once', async () => {
    await query(Newest, { first: 5 });
    /** Three requests after a change: the first may meet the stale statement (a retryable 503), no later one. */
    const afterChange = async () => {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await execute(Newest, { first: 5 }));
      expect(answers.slice(1).map((answer) => answer.status)).toEqual([200, 200]);
      expect([200, 503]).toContain(answers[0]!.status);
      if (answers[0]!.status === 503) expect(codes(answers[0]!)).toEqual(['DATABASE_UNAVAILABLE']);
      return answers[0]!.status;
    };
    await prisma.$executeRawUnsafe('ALTER TABLE "Article" ALTER COLUMN "source" TYPE varchar(2000)');
    let first: number;
    try {
      first = await afterChange();
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE "Article" ALTER COLUMN "source" TYPE text');
    }
    // the statement was prepared before the change: PostgreSQL refuses it once
    expect(first).toBe(503);
    expect(await afterChange()).toBe(503);
  });

  it('prepares the statements of a write transaction again after such a change (its connection is kept)', async () => {
    const [article] = await seedDemo();
    const { editor } = await callers();
    const id = globalId('Article', article!.id);
    let version = (await prisma.article.findUniqueOrThrow({ where: { id: article!.id } })).version;
    const update = async (source: string) => {
      const answer = await execute(Update, { input: { id, expectedVersion: version, source } }, editor);
      if (answer.data?.updateArticle.__typename === 'UpdateArticleSuccess') version += 1;
      return answer.status === 200 ? answer.data!.updateArticle.__typename : codes(answer).join();
    };
    expect(await update('Before the change')).toBe('UpdateArticleSuccess');
    await prisma.$executeRawUnsafe('ALTER TABLE "Article" ALTER COLUMN "source" TYPE varchar(2000)');
    try {
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await update(`After the change ${i}`));
      // at most the first meets the stale statement; the rest are prepared again
      expect(outcomes.slice(1)).toEqual(['UpdateArticleSuccess', 'UpdateArticleSuccess']);
      expect(['UpdateArticleSuccess', 'DATABASE_UNAVAILABLE']).toContain(outcomes[0]);
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE "Article" ALTER COLUMN "source" TYPE text');
    }
  });
});

describe('connection settings', () => {
  it('runs every connection with JIT compilation off and work_mem at least 32 MB, a new one too', async () => {
    const settings = async () =>
      (
        await prisma.$queryRaw<[{ jit: string; workMem: string; idle: string }]>`
          SELECT current_setting('jit') AS "jit", current_setting('work_mem') AS "workMem",
                 current_setting('idle_in_transaction_session_timeout') AS "idle"`
      )[0];
    // on a server, a transaction left idle for a minute is ended by PostgreSQL
    const expected = { jit: 'off', workMem: '32MB', idle: serverUrl ? '1min' : '0' };
    expect(await settings()).toEqual(expected);
    // the pool closes a connection idle for 10 s; the next statement opens another
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(poolStats().total).toBe(0);
    expect(await settings()).toEqual(expected);
  }, 30_000);
});

describe('database failures raised by the driver adapter itself', () => {
  it('are classified like the ones Prisma wraps (a transaction statement raises them unwrapped)', async () => {
    const { DriverAdapterError } = await import('@prisma/driver-adapter-utils');
    const { databaseFailure, isStalePlan } = await import('../src/db/errors.ts');
    const raised = (code: string, message: string) =>
      new DriverAdapterError({
        kind: 'postgres',
        code,
        severity: 'ERROR',
        message,
        detail: undefined,
        column: undefined,
        hint: undefined,
      });
    expect(databaseFailure(raised('57P01', 'terminating connection due to administrator command'))).toEqual({
      code: 'DATABASE_UNAVAILABLE',
      reason: 'connection lost',
    });
    // a database refusing connections (ALTER DATABASE ... ALLOW_CONNECTIONS false), and a full lock table
    expect(databaseFailure(raised('55000', 'database "news" is not currently accepting connections'))).toEqual({
      code: 'DATABASE_UNAVAILABLE',
      reason: 'unreachable',
    });
    expect(databaseFailure(raised('53200', 'out of shared memory'))).toEqual({
      code: 'DATABASE_UNAVAILABLE',
      reason: 'busy',
    });
    // 55000 for anything else is a fault of the statement, not an outage
    expect(databaseFailure(raised('55000', 'cannot drop the currently open database'))).toBeUndefined();
    const stale = raised('0A000', 'cached plan must not change result type');
    expect(isStalePlan(stale)).toBe(true);
    expect(databaseFailure(stale)).toEqual({ code: 'DATABASE_UNAVAILABLE', reason: 'schema changed' });
    expect(isStalePlan(raised('0A000', 'cannot alter type of a column used in a trigger definition'))).toBe(false);
  });
});
