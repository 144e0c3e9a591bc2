import pg from 'pg';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { nameKey } from '../prisma/nameKey.ts';
import { graphql } from './gql/index.ts';
import { execute, type Result } from './support/api.ts';
import { globalId } from './support/demo.ts';
import { callers, type Caller } from './support/keys.ts';
import { rollupDrift } from './support/rollup.ts';
import { serverUrl } from './support/targets.ts';

vi.hoisted(() => {
  // 40 requests at once each hold a connection for a moment: let them all have one
  process.env.DB_POOL_SIZE = '45';
});

const { prisma } = await import('../src/db/client.ts');
const { writeRetries } = await import('../src/resolvers/writing/transaction.ts');
const { upsertArticles } = await import('../src/resolvers/articles/bulk.ts');
const { normalizeUrl } = await import('../src/resolvers/articles/urls.ts');

/** Write transactions run again since the start of this file, by reason. */
async function retries(): Promise<Record<string, number>> {
  return Object.fromEntries((await writeRetries.get()).values.map((v) => [v.labels.reason, v.value]));
}

/**
 * Races that once lost or duplicated data or answered 500, replayed with real concurrency on
 * the PostgreSQL server (PGlite runs one statement at a time, where they pass by construction
 * and run fewer times): names filed in different spellings at once, merges racing updates and
 * creates, references vanishing mid-write. Each ends with the invariants every write must keep.
 */

const ROUNDS = serverUrl ? 20 : 3;
const FAN_OUT = 20;

const CreateAuthor = graphql(`
  mutation RaceCreateAuthor($input: CreateAuthorInput!) {
    createAuthor(input: $input) {
      __typename
    }
  }
`);
const UpdateTopic = graphql(`
  mutation RaceUpdateTopic($input: UpdateTopicInput!) {
    updateTopic(input: $input) {
      __typename
    }
  }
`);
const UpdateAuthor = graphql(`
  mutation RaceUpdateAuthor($input: UpdateAuthorInput!) {
    updateAuthor(input: $input) {
      __typename
      ... on UpdateAuthorSuccess {
        author {
          id
          name
          articleCount
        }
      }
    }
  }
`);
const CreateTopic = graphql(`
  mutation RaceCreateTopic($input: CreateTopicInput!) {
    createTopic(input: $input) {
      __typename
    }
  }
`);
const CreateArticle = graphql(`
  mutation RaceCreateArticle($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          authors {
            id
          }
          topics {
            id
          }
        }
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
    }
  }
`);
const UpsertArticle = graphql(`
  mutation RaceUpsertArticle($input: CreateArticleInput!) {
    upsertArticle(input: $input) {
      __typename
      ... on ValidationError {
        fields {
          path
          code
        }
      }
    }
  }
`);
const UpdateArticle = graphql(`
  mutation RaceUpdateArticle($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
      ... on UpdateArticleSuccess {
        article {
          id
          version
          title
          authors {
            name
          }
        }
      }
    }
  }
`);
const DeleteArticle = graphql(`
  mutation RaceDeleteArticle($input: DeleteArticleInput!) {
    deleteArticle(input: $input) {
      __typename
    }
  }
`);
const MergeAuthors = graphql(`
  mutation RaceMergeAuthors($input: MergeAuthorsInput!) {
    mergeAuthors(input: $input) {
      __typename
    }
  }
`);
const MergeTopics = graphql(`
  mutation RaceMergeTopics($input: MergeTopicsInput!) {
    mergeTopics(input: $input) {
      __typename
    }
  }
`);

let as: Record<Caller, Record<string, string>>;
beforeAll(async () => {
  as = await callers();
});

/** The outcome of one request: its result type, or its error codes. */
function outcome(result: Result<unknown>, field: string): string {
  if (result.errors?.length) return `error:${result.errors.map((e) => e.extensions?.code).join(',')}`;
  return (result.data as Record<string, { __typename: string }>)[field]!.__typename;
}

function tally(outcomes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of outcomes) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Counters equal the rows they count (the count rollup too); bylines are numbered 0, 1, 2... */
async function expectInvariants(): Promise<void> {
  const [counts] = await prisma.$queryRaw<{ authors: number; topics: number; bylines: number }[]>`
    SELECT
      (SELECT count(*)::int FROM "Author" a
        WHERE a."articleCount" <> (SELECT count(*) FROM "ArticleAuthor" b WHERE b."authorId" = a."id")) AS "authors",
      (SELECT count(*)::int FROM "Topic" t
        WHERE t."articleCount" <> (SELECT count(*) FROM "ArticleTopic" l WHERE l."topicId" = t."id")) AS "topics",
      (SELECT count(*)::int FROM (
        SELECT "articleId" FROM "ArticleAuthor" GROUP BY "articleId"
        HAVING max("position") <> count(*) - 1 OR min("position") <> 0) AS gaps) AS "bylines"`;
  expect(counts).toEqual({ authors: 0, topics: 0, bylines: 0 });
  // the count rollup follows concurrent writes exactly
  expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
}

let serial = 0;
const fresh = (prefix: string) => `${prefix} ${++serial} ${Math.random().toString(36).slice(2, 8)}`;

/** Spellings of one name that are one name: case, NFC/NFD, spacing, width. */
function spellings(name: string): string[] {
  const out = [name, name.toUpperCase(), name.toLowerCase(), ` ${name.replace(/ /g, '   ')} `];
  out.push(name.normalize('NFD'), name.toUpperCase().normalize('NFD'));
  out.push(name.replace(/[A-Za-z]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)));
  return out;
}

/** Runs `work` after a random delay of up to 60 ms. */
const later = <T>(work: () => Promise<T>) =>
  new Promise<T>((resolve, reject) => setTimeout(() => work().then(resolve, reject), Math.random() * 60));

let urls = 0;
const articleInput = (authors: object[], topics: object[] = []) => ({
  title: `Race ${++urls}`,
  url: `https://race.example/${urls}`,
  source: 'Race',
  publishedAt: '2026-02-01T00:00:00Z',
  priority: 2,
  authors,
  topics,
});

async function seedArticle(authorIds: number[], topicIds: number[] = []): Promise<number> {
  const result = await execute(
    CreateArticle,
    {
      input: articleInput(
        authorIds.map((id) => ({ id: globalId('Author', id) })),
        topicIds.map((id) => ({ id: globalId('Topic', id) })),
      ),
    },
    as.editor,
  );
  expect(outcome(result, 'createArticle')).toBe('CreateArticleSuccess');
  return (await prisma.article.findFirstOrThrow({ where: { url: `https://race.example/${urls}` } })).id;
}

describe(`concurrent writes (${serverUrl ? 'PostgreSQL server' : 'PGlite'}, ${ROUNDS} rounds of ${FAN_OUT})`, () => {
  it('makes one author from concurrent creates of one name in different spellings', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const name = `Zed Émile ${fresh('Xu')}`;
      const names = Array.from({ length: FAN_OUT }, (_, i) => spellings(name)[i % spellings(name).length]!);
      const results = await Promise.all(
        names.map((variant) => execute(CreateAuthor, { input: { name: variant } }, as.editor)),
      );
      expect(tally(results.map((r) => outcome(r, 'createAuthor')))).toEqual({
        CreateAuthorSuccess: 1,
        ValidationError: FAN_OUT - 1,
      });
    }
    const [dupes] = await prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (SELECT "nameKey" FROM "Author" GROUP BY "nameKey" HAVING count(*) > 1) AS d`;
    expect(dupes!.n).toBe(0);
    expect(await prisma.author.count({ where: { nameKey: { startsWith: 'zed émile xu' } } })).toBe(ROUNDS);
  });

  it('connects concurrent article refs by name in different spellings to one author and one topic', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const author = `Ana Núñez ${fresh('Byline')}`;
      const topic = `Café Policy ${fresh('Topic')}`;
      const results = await Promise.all(
        Array.from({ length: FAN_OUT }, (_, i) =>
          execute(
            CreateArticle,
            {
              input: articleInput(
                [{ name: spellings(author)[i % 7] }, { name: `Second Writer ${round}`.toUpperCase() }],
                [{ name: spellings(topic)[(i + 3) % 7] }],
              ),
            },
            as.editor,
          ),
        ),
      );
      expect(tally(results.map((r) => outcome(r, 'createArticle')))).toEqual({ CreateArticleSuccess: FAN_OUT });
      const bylines = results.map((r) =>
        r.data!.createArticle.__typename === 'CreateArticleSuccess' ? r.data!.createArticle.article : null,
      );
      expect(new Set(bylines.map((a) => a!.authors[0]!.id)).size).toBe(1);
      expect(new Set(bylines.map((a) => a!.topics[0]!.id)).size).toBe(1);
      const [row] = await prisma.author.findMany({ where: { nameKey: nameKey(author) } });
      expect(row!.articleCount).toBe(FAN_OUT);
    }
    await expectInvariants();
  });

  it('makes one topic from concurrent creates with different slugs, and one winner of concurrent renames of authors and topics', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const name = `Zed Topic ${fresh('T')}`;
      const topics = await Promise.all(
        Array.from({ length: FAN_OUT }, (_, i) =>
          execute(
            CreateTopic,
            { input: { name: spellings(name)[i % 7]!, slug: `race-topic-${serial}-${round}-${i}` } },
            as.editor,
          ),
        ),
      );
      expect(tally(topics.map((r) => outcome(r, 'createTopic')))).toEqual({
        CreateTopicSuccess: 1,
        ValidationError: FAN_OUT - 1,
      });

      const authors = await Promise.all(
        Array.from({ length: FAN_OUT }, () => prisma.author.create({ data: { name: fresh('Renamed From') } })),
      );
      const target = `Renamed To ${fresh('R')}`;
      const renames = await Promise.all(
        authors.map((a, i) =>
          execute(
            UpdateAuthor,
            { input: { id: globalId('Author', a.id), name: spellings(target)[i % 7]! } },
            as.editor,
          ),
        ),
      );
      expect(tally(renames.map((r) => outcome(r, 'updateAuthor')))).toEqual({
        UpdateAuthorSuccess: 1,
        ValidationError: FAN_OUT - 1,
      });

      const retitled = `Retitled ${fresh('RT')}`;
      const topicRenames = await Promise.all(
        Array.from({ length: FAN_OUT }, (_, i) =>
          prisma.topic.create({ data: { name: fresh('Topic From'), slug: `topic-from-${serial}-${round}-${i}` } }),
        ),
      ).then((rows) =>
        Promise.all(
          rows.map((row, i) =>
            execute(
              UpdateTopic,
              {
                input: {
                  id: globalId('Topic', row.id),
                  name: spellings(retitled)[i % 7]!,
                  slug: `retitled-${serial}-${i}`,
                },
              },
              as.editor,
            ),
          ),
        ),
      );
      expect(tally(topicRenames.map((r) => outcome(r, 'updateTopic')))).toEqual({
        UpdateTopicSuccess: 1,
        ValidationError: FAN_OUT - 1,
      });
    }
  });

  it('never deadlocks a create naming a new author racing a rename to that name', async () => {
    const seen: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const pairs = await Promise.all(
        Array.from({ length: FAN_OUT / 2 }, async () => ({
          x: await prisma.author.create({ data: { name: fresh('Rename Race') } }),
          t: await prisma.topic.create({ data: { name: fresh('Rename Race T'), slug: `rrt-${serial}-${round}` } }),
          name: fresh('New Name'),
        })),
      );
      const results = await Promise.all(
        pairs.flatMap(({ x, t, name }) => [
          execute(
            CreateArticle,
            {
              input: articleInput(
                [{ name }, { id: globalId('Author', x.id) }],
                [{ name }, { id: globalId('Topic', t.id) }],
              ),
            },
            as.editor,
          ).then((r) => outcome(r, 'createArticle')),
          // the renames start a little later, so that either may reach the name first
          later(() =>
            execute(UpdateAuthor, { input: { id: globalId('Author', x.id), name: name.toUpperCase() } }, as.editor),
          ).then((r) => outcome(r, 'updateAuthor')),
          later(() =>
            execute(UpdateTopic, { input: { id: globalId('Topic', t.id), name: name.toUpperCase() } }, as.editor),
          ).then((r) => outcome(r, 'updateTopic')),
        ]),
      );
      seen.push(...results);
      expect(results.filter((r) => r.startsWith('error'))).toEqual([]);
      // whichever commits first decides: the create files the name (the rename is then TAKEN), or
      // the rename takes it (the create then names one author twice: DUPLICATE)
      expect(new Set(results)).toSatisfy((kinds: Set<string>) =>
        [...kinds].every((k) => k.endsWith('Success') || k === 'ValidationError'),
      );
    }
    await expectInvariants();
    expect((await retries()).deadlock ?? 0).toBe(0);
    console.info('create vs rename:', tally(seen), 'retries:', await retries());
  });

  it('never deadlocks a merge of authors racing updates of the same bylines', async () => {
    const seen: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [x0, x2] = await Promise.all(
        [fresh('X0'), fresh('X2')].map((name) => prisma.author.create({ data: { name } })),
      );
      const sources = await Promise.all(
        Array.from({ length: FAN_OUT }, () => prisma.author.create({ data: { name: fresh('X1') } })),
      );
      // article i: [X0, source i]; updated to [X2, X0] while source i merges into X0
      const articleIds = [];
      for (const source of sources) articleIds.push(await seedArticle([x0!.id, source.id]));
      const results = await Promise.all([
        ...sources.map((source) =>
          execute(
            MergeAuthors,
            { input: { sourceIds: [globalId('Author', source.id)], targetId: globalId('Author', x0!.id) } },
            as.admin,
          ).then((r) => outcome(r, 'mergeAuthors')),
        ),
        ...articleIds.map((id) =>
          execute(
            UpdateArticle,
            {
              input: {
                id: globalId('Article', id),
                expectedVersion: 1,
                authors: [{ id: globalId('Author', x2!.id) }, { id: globalId('Author', x0!.id) }],
              },
            },
            as.editor,
          ).then((r) => outcome(r, 'updateArticle')),
        ),
      ]);
      seen.push(...results);
      expect(results.filter((r) => r.startsWith('error'))).toEqual([]);
      expect(results.slice(0, FAN_OUT).every((r) => r === 'MergeAuthorsSuccess')).toBe(true);
      // an update either came first (its byline was then merged) or met the merge's new version
      expect(results.slice(FAN_OUT).every((r) => r === 'UpdateArticleSuccess' || r === 'VersionConflictError')).toBe(
        true,
      );
      expect(await prisma.author.count({ where: { id: { in: sources.map((s) => s.id) } } })).toBe(0);
      const x0Count = await prisma.articleAuthor.count({ where: { authorId: x0!.id } });
      expect((await prisma.author.findUniqueOrThrow({ where: { id: x0!.id } })).articleCount).toBe(x0Count);
      expect(x0Count).toBe(FAN_OUT);
    }
    await expectInvariants();
    // the lock order leaves PostgreSQL no deadlock to break (retries are only a safety net)
    expect((await retries()).deadlock ?? 0).toBe(0);
    console.info('merge authors vs update:', tally(seen), 'retries:', await retries());
  });

  it('never deadlocks a merge of topics racing updates and deletes of the same articles, nor tags what changed', async () => {
    const seen: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const author = await prisma.author.create({ data: { name: fresh('Topic Race Writer') } });
      const [t0, t2] = await Promise.all(
        [fresh('T0'), fresh('T2')].map((name) =>
          prisma.topic.create({ data: { name, slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-') } }),
        ),
      );
      const sources = await Promise.all(
        Array.from({ length: FAN_OUT }, () => {
          const name = fresh('T1');
          return prisma.topic.create({ data: { name, slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-') } });
        }),
      );
      // article i has the topic source i, which merges into T0 while the article is retagged
      // [T2] (even i) or deleted (odd i)
      const articleIds: number[] = [];
      for (const source of sources) articleIds.push(await seedArticle([author.id], [source.id]));
      const results = await Promise.all([
        ...sources.map((source) =>
          execute(
            MergeTopics,
            { input: { sourceIds: [globalId('Topic', source.id)], targetId: globalId('Topic', t0!.id) } },
            as.admin,
          ).then((r) => outcome(r, 'mergeTopics')),
        ),
        ...articleIds.map((id, i) =>
          i % 2 === 0
            ? execute(
                UpdateArticle,
                {
                  input: {
                    id: globalId('Article', id),
                    expectedVersion: 1,
                    topics: { set: [{ id: globalId('Topic', t2!.id) }] },
                  },
                },
                as.editor,
              ).then((r) => outcome(r, 'updateArticle'))
            : execute(DeleteArticle, { input: { id: globalId('Article', id) } }, as.admin).then((r) =>
                outcome(r, 'deleteArticle'),
              ),
        ),
      ]);
      seen.push(...results);
      expect(results.filter((r) => r.startsWith('error'))).toEqual([]);
      expect(results.slice(0, FAN_OUT).every((r) => r === 'MergeTopicsSuccess')).toBe(true);
      expect(await prisma.topic.count({ where: { id: { in: sources.map((s) => s.id) } } })).toBe(0);
      // in either order: retagged [T2] (then the merge had nothing to move), or merged [T0] (then
      // the update met a new version); never both
      for (const [i, id] of articleIds.entries()) {
        const topics = (await prisma.articleTopic.findMany({ where: { articleId: id } })).map((t) => t.topicId);
        if (i % 2 === 1) expect(await prisma.article.count({ where: { id } })).toBe(0);
        else if (results[FAN_OUT + i] === 'UpdateArticleSuccess') expect(topics).toEqual([t2!.id]);
        else expect(topics).toEqual([t0!.id]);
      }
    }
    await expectInvariants();
    expect((await retries()).deadlock ?? 0).toBe(0);
    console.info('merge topics vs update and delete:', tally(seen), 'retries:', await retries());
  });

  it('answers an update racing the delete of its article with a typed result, never a 500', async () => {
    const seen: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const author = await prisma.author.create({ data: { name: fresh('Delete Race Writer') } });
      const ids: number[] = [];
      for (let i = 0; i < FAN_OUT; i++) ids.push(await seedArticle([author.id]));
      // the update may commit just before the delete: its answer is read back after both
      const results = await Promise.all(
        ids.flatMap((id) => [
          execute(
            UpdateArticle,
            { input: { id: globalId('Article', id), expectedVersion: 1, priority: 5 } },
            as.editor,
          ).then((r) => outcome(r, 'updateArticle')),
          later(() => execute(DeleteArticle, { input: { id: globalId('Article', id) } }, as.admin)).then((r) =>
            outcome(r, 'deleteArticle'),
          ),
        ]),
      );
      seen.push(...results);
      expect(results.filter((r) => r.startsWith('error:'))).toEqual([]);
      expect(await prisma.article.count({ where: { id: { in: ids } } })).toBe(0);
      await expectInvariants();
    }
    console.info('update vs delete:', tally(seen));
  });

  it('answers a rename racing the merge of its author away with a typed result, never a 500', async () => {
    const seen: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const target = await prisma.author.create({ data: { name: fresh('Merge Race Target') } });
      const sources: { id: number }[] = [];
      for (let i = 0; i < FAN_OUT; i++)
        sources.push(await prisma.author.create({ data: { name: fresh('Merge Race Source') } }));
      // the rename may commit just before the merge: its answer is read back after both
      const results = await Promise.all(
        sources.flatMap((source) => [
          execute(
            UpdateAuthor,
            { input: { id: globalId('Author', source.id), name: fresh('Merge Race Renamed') } },
            as.editor,
          ).then((r) => outcome(r, 'updateAuthor')),
          later(() =>
            execute(
              MergeAuthors,
              { input: { targetId: globalId('Author', target.id), sourceIds: [globalId('Author', source.id)] } },
              as.admin,
            ),
          ).then((r) => outcome(r, 'mergeAuthors')),
        ]),
      );
      seen.push(...results);
      expect(results.filter((r) => r.startsWith('error:'))).toEqual([]);
      expect(await prisma.author.count({ where: { id: { in: sources.map((source) => source.id) } } })).toBe(0);
      await expectInvariants();
    }
    console.info('rename vs merge:', tally(seen));
  });

  it('answers NOT_FOUND, never a foreign-key error, when a referenced author or topic is merged away mid-write', async () => {
    const seen: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [x0, x1] = await Promise.all(
        [fresh('Keep'), fresh('Gone')].map((name) => prisma.author.create({ data: { name } })),
      );
      const [t0, t1] = await Promise.all(
        [fresh('Keep T'), fresh('Gone T')].map((name) =>
          prisma.topic.create({ data: { name, slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-') } }),
        ),
      );
      const creates = Array.from({ length: FAN_OUT }, () =>
        execute(CreateArticle, { input: articleInput([{ id: globalId('Author', x1!.id) }]) }, as.editor),
      );
      const upserts = Array.from({ length: FAN_OUT }, () =>
        execute(
          UpsertArticle,
          { input: articleInput([{ name: fresh('Upsert Writer') }], [{ id: globalId('Topic', t1!.id) }]) },
          as.editor,
        ),
      );
      const merges = [
        execute(
          MergeAuthors,
          { input: { sourceIds: [globalId('Author', x1!.id)], targetId: globalId('Author', x0!.id) } },
          as.admin,
        ),
        execute(
          MergeTopics,
          { input: { sourceIds: [globalId('Topic', t1!.id)], targetId: globalId('Topic', t0!.id) } },
          as.admin,
        ),
      ];
      const [created, upserted, merged] = await Promise.all([
        Promise.all(creates),
        Promise.all(upserts),
        Promise.all(merges),
      ]);
      expect(merged.map((r, i) => outcome(r, i === 0 ? 'mergeAuthors' : 'mergeTopics'))).toEqual([
        'MergeAuthorsSuccess',
        'MergeTopicsSuccess',
      ]);
      for (const [results, field, path] of [
        [created, 'createArticle', ['input', 'authors', '0', 'id']],
        [upserted, 'upsertArticle', ['input', 'topics', '0', 'id']],
      ] as const) {
        for (const result of results) {
          const kind = outcome(result, field);
          seen.push(`${field}:${kind}`);
          expect(['CreateArticleSuccess', 'UpsertArticleSuccess', 'ValidationError']).toContain(kind);
          if (kind === 'ValidationError') {
            expect((result.data as any)[field].fields).toEqual([{ path, code: 'NOT_FOUND' }]);
          }
        }
      }
      const x0Count = await prisma.articleAuthor.count({ where: { authorId: x0!.id } });
      expect(x0Count).toBe(seen.slice(-2 * FAN_OUT, -FAN_OUT).filter((s) => s.endsWith('Success')).length);
    }
    await expectInvariants();
    expect((await retries()).deadlock ?? 0).toBe(0);
    console.info('refs vs merges:', tally(seen), 'retries:', await retries());
  });
  describe.skipIf(!serverUrl)('an import batch whose names change while it waits for their rows', () => {
    const importer = { kind: 'apiKey', keyId: 0, name: 'import', role: 'EDITOR' } as const;
    let admin: pg.Client;
    beforeAll(async () => {
      admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      return () => admin.end();
    });
    /** An import record (upsertArticle's input, ids decoded) naming `authors`. */
    const record = (authors: ({ id: number } | { name: string })[]) => ({
      ...articleInput([]),
      publishedAt: new Date('2026-02-01T00:00:00Z'),
      authors: authors.map((ref) => ('id' in ref ? { id: { id: ref.id } } : ref)),
    });
    /** Resolves once `n` backends of this database wait for a lock; rejects after `ms`. */
    async function lockWaiters(n: number, ms = 10_000): Promise<void> {
      for (const start = Date.now(); Date.now() - start < ms;) {
        // inside a transaction, the statistics views keep their first reading unless cleared
        await admin.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        if (rows[0].n >= n) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`fewer than ${n} backends waited for a lock`);
    }

    it('files it when an author it names is merged away meanwhile, without starting the batch over', async () => {
      // the source's id below the target's: the merge locks the source, then waits for the
      // target's row, held here, while the batch (which read the source's name before) waits for
      // the source's; released, the merge commits and the batch finds the row gone
      const source = await prisma.author.create({ data: { name: fresh('Batch Merge Source') } });
      const target = await prisma.author.create({ data: { name: fresh('Batch Merge Target') } });
      await seedArticle([source.id]);
      const before = (await retries()).changed ?? 0;
      await admin.query('BEGIN');
      await admin.query('SELECT 1 FROM "Author" WHERE "id" = $1 FOR UPDATE', [target.id]);
      const merged = execute(
        MergeAuthors,
        { input: { sourceIds: [globalId('Author', source.id)], targetId: globalId('Author', target.id) } },
        as.admin,
      );
      await lockWaiters(1);
      const input = record([{ name: source.name }, { name: fresh('Batch Merge Coauthor') }]);

      const filed = upsertArticles(prisma, [{ input }], importer);
      await lockWaiters(2);
      await admin.query('ROLLBACK');
      expect(outcome(await merged, 'mergeAuthors')).toBe('MergeAuthorsSuccess');
      const [result] = await filed;
      expect(result).toEqual({ status: 'created', id: expect.any(Number) });
      const byline = await prisma.articleAuthor.findMany({
        where: { articleId: (result as { id: number }).id },
        orderBy: { position: 'asc' },
        include: { author: true },
      });
      // the merged name is filed again as a new author, as upsertArticle files it
      expect(byline.map((b) => b.author.name)).toEqual(input.authors.map((a) => ('name' in a ? a.name : '')));
      expect(byline[0]!.authorId).not.toBe(source.id);
      expect((await retries()).changed ?? 0).toBe(before);
      await expectInvariants();
    });

    it('refuses an article whose byline comes to name one author twice meanwhile as DUPLICATE, never a key violation', async () => {
      // a rename to a name the batch files as new, committed while the batch waits for the row
      const author = await prisma.author.create({ data: { name: fresh('Batch Rename From') } });
      const renamed = fresh('Batch Rename To');
      await admin.query('BEGIN');
      await admin.query('SELECT 1 FROM "Author" WHERE "id" = $1 FOR UPDATE', [author.id]);
      const rename = execute(UpdateAuthor, { input: { id: globalId('Author', author.id), name: renamed } }, as.editor);
      await lockWaiters(1);
      const input = record([{ id: author.id }, { name: renamed }]);
      const filed = upsertArticles(prisma, [{ input }], importer);
      await lockWaiters(2);
      await admin.query('ROLLBACK');
      expect(outcome(await rename, 'updateAuthor')).toBe('UpdateAuthorSuccess');
      const [result] = await filed;
      expect(result!.status).toBe('rejected');
      expect((result as { error: { fields?: unknown } }).error).toMatchObject({
        fields: [{ path: ['input', 'authors', '1'], code: 'DUPLICATE' }],
      });
      expect(await prisma.article.count({ where: { url: input.url } })).toBe(0);
      await expectInvariants();
    });
    /**
     * Files `input` while an API write runs that takes a name lock and then the row of an author
     * the byline names by id: the batch is held at its article insert (an uncommitted row with
     * the same link) until the write waits for that row, then let go. A batch that locked the
     * id's row before its name locks waited for the write's name lock while the write waited for
     * its row: a deadlock, which PostgreSQL broke by aborting one of them.
     */
    async function fileAgainst<T>(
      input: ReturnType<typeof record>,
      write: () => Promise<T>,
    ): Promise<{ filed: Awaited<ReturnType<typeof upsertArticles>>; written: T }> {
      const before = (await retries()).deadlock ?? 0;
      await admin.query('BEGIN');
      await admin.query(
        `INSERT INTO "Article" ("title", "url", "urlKey", "source", "publishedAt", "priority", "updatedAt")
         VALUES ('held', $1, $2, 'held', now(), 1, now())`,
        [input.url, normalizeUrl(input.url)],
      );
      const filed = upsertArticles(prisma, [{ input }], importer);
      await lockWaiters(1);
      const written = write();
      // the write waits for the batch's row lock (old) or runs through (now): give it the time
      await lockWaiters(2, 500).catch(() => {});
      await admin.query('ROLLBACK');
      const result = { filed: await filed, written: await written };
      expect((await retries()).deadlock ?? 0).toBe(before);
      await expectInvariants();
      return result;
    }

    it('never deadlocks with a rename to a name its byline files next to the id of the renamed author', async () => {
      const author = await prisma.author.create({ data: { name: fresh('Order Rename From') } });
      const renamed = fresh('Order Rename To');
      const input = record([{ id: author.id }, { name: renamed }]);
      const { filed, written } = await fileAgainst(input, () =>
        execute(UpdateAuthor, { input: { id: globalId('Author', author.id), name: renamed } }, as.editor),
      );
      expect(outcome(written, 'updateAuthor')).toBe('UpdateAuthorSuccess');
      expect(filed[0]).toMatchObject({ status: 'rejected', error: { fields: [{ code: 'DUPLICATE' }] } });
    });

    it('never deadlocks with a merge of an author its byline names into one it names by id', async () => {
      const low = await prisma.author.create({ data: { name: fresh('Order Merge Low') } });
      const high = await prisma.author.create({ data: { name: fresh('Order Merge High') } });
      await seedArticle([low.id]);
      const input = record([{ id: high.id }, { name: low.name }]);
      const { filed, written } = await fileAgainst(input, () =>
        execute(
          MergeAuthors,
          { input: { sourceIds: [globalId('Author', low.id)], targetId: globalId('Author', high.id) } },
          as.admin,
        ),
      );
      expect(outcome(written, 'mergeAuthors')).toBe('MergeAuthorsSuccess');
      expect(filed[0]).toEqual({ status: 'created', id: expect.any(Number) });
    });
  });
});
