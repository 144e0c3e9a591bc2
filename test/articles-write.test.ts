import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { print } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../src/config.ts';
import { prisma } from '../src/db/client.ts';
import { createLogger } from '../src/observability.ts';
import { createServer } from '../src/yoga.ts';
import { graphql } from './gql/index.ts';
import type { CreateArticleInput } from './gql/graphql.ts';
import { execute, query } from './support/api.ts';
import { callers, snapshot, type Caller } from './support/keys.ts';
import { whileRefusingTitles } from './support/refusal.ts';
import { expandingPath } from '../bench/importFile.ts';
import { normalizeUrl } from '../src/resolvers/articles/urls.ts';
import { TEXT_LIMITS } from '../src/resolvers/articles/writes.ts';

const CreateArticle = graphql(`
  mutation CreateArticle($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          title
          url
          version
          createdAt
          updatedAt
          createdBy
          updatedBy
          authors {
            id
            name
          }
          topics {
            id
            name
            slug
          }
        }
      }
      ... on Error {
        code
        message
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
      ... on DuplicateUrlError {
        existingId
      }
    }
  }
`);

const UpsertArticle = graphql(`
  mutation UpsertArticle($input: CreateArticleInput!) {
    upsertArticle(input: $input) {
      __typename
      ... on UpsertArticleSuccess {
        created
        article {
          id
          title
          url
          version
          summary
          authors {
            name
          }
        }
      }
      ... on Error {
        code
      }
    }
  }
`);

const UpdateArticle = graphql(`
  mutation UpdateArticle($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
      ... on UpdateArticleSuccess {
        article {
          id
          title
          source
          priority
          summary
          version
          updatedAt
          updatedBy
          authors {
            name
          }
          topics {
            name
          }
        }
      }
      ... on Error {
        code
      }
      ... on VersionConflictError {
        currentVersion
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
      ... on DuplicateUrlError {
        existingId
      }
    }
  }
`);

const DeleteArticle = graphql(`
  mutation DeleteArticle($input: DeleteArticleInput!) {
    deleteArticle(input: $input) {
      __typename
      ... on DeleteArticleSuccess {
        deletedId
      }
      ... on Error {
        code
      }
    }
  }
`);

let as: Record<Caller, Record<string, string>>;
let counter = 0;

beforeAll(async () => {
  as = await callers();
});

/**
 * Files articles with the given link keys as they were stored before `migration` (a data
 * migration of the keys), runs its statements again, and returns the keys after it, in the order
 * given; the rows are deleted after.
 */
/**
 * Files articles with these keys (each its own link, or the link given), runs the migration's
 * statements, and returns the keys as they are then, in order.
 */
async function rowsAfterMigration(
  migration: string,
  urlKeys: (string | { url: string; urlKey: string })[],
): Promise<string[]> {
  const sql = fs.readFileSync(
    path.join(import.meta.dirname, `../prisma/migrations/${migration}/migration.sql`),
    'utf8',
  );
  const ids: number[] = [];
  for (const [n, given] of urlKeys.entries()) {
    const { url, urlKey } = typeof given === 'string' ? { url: given, urlKey: given } : given;
    const row = await prisma.article.create({
      data: { title: `Old key ${n}`, url, urlKey, source: 'S', publishedAt: new Date(), priority: 1 },
    });
    ids.push(row.id);
  }
  // statements end with a semicolon at a line's end, outside $$-quoted function bodies
  const statements: string[] = [];
  let current = '';
  let quoted = false;
  for (const line of sql.split('\n')) {
    if (!quoted && line.startsWith('--')) continue;
    current += `${line}\n`;
    if ((line.match(/\$\$/g)?.length ?? 0) % 2 === 1) quoted = !quoted;
    if (!quoted && /;\s*$/.test(line)) {
      statements.push(current.trim().replace(/;$/, ''));
      current = '';
    }
  }
  for (const statement of statements) await prisma.$executeRawUnsafe(statement);
  const rows = await prisma.article.findMany({
    where: { id: { in: ids } },
    orderBy: { id: 'asc' },
    select: { urlKey: true },
  });
  await prisma.article.deleteMany({ where: { id: { in: ids } } });
  return rows.map((row) => row.urlKey);
}

/** Files each pair's first link, then its second: refused as DuplicateUrlError naming the first. */
async function expectOneLink(pairs: [filed: string, again: string][]) {
  for (const [filed, again] of pairs) {
    const first = await created(articleInput({ url: filed }));
    const result = await create(articleInput({ url: again }));
    expect(result.__typename, again).toBe('DuplicateUrlError');
    expect(result.__typename === 'DuplicateUrlError' && result.existingId, again).toBe(first.id);
  }
}

function articleInput(overrides: Partial<CreateArticleInput> = {}): CreateArticleInput {
  counter += 1;
  return {
    title: `Story ${counter}`,
    url: `https://news.example/stories/${counter}`,
    source: 'The Example Herald',
    publishedAt: '2026-03-01T09:30:00Z',
    priority: 3,
    ...overrides,
  };
}

async function create(input: CreateArticleInput, caller: Caller = 'editor') {
  const result = await execute(CreateArticle, { input }, as[caller]);
  expect(result.errors).toBeUndefined();
  return result.data!.createArticle;
}

async function created(input: CreateArticleInput) {
  const result = await create(input);
  if (result.__typename !== 'CreateArticleSuccess') throw new Error(`expected success, got ${JSON.stringify(result)}`);
  return result.article;
}

describe('createArticle', () => {
  it('files an article with authors in byline order, connecting or creating authors and topics', async () => {
    await prisma.author.create({ data: { name: 'Existing Writer' } });
    const article = await created(
      articleInput({
        title: '  Chips, export rules and the race for compute  ',
        isAustralian: true,
        authors: [{ name: 'Zed New-Writer' }, { name: 'existing   writer' }, { name: 'Amy First' }],
        topics: [{ name: 'Export Controls' }, { name: 'AI & Society' }],
      }),
    );
    expect(article.title).toBe('Chips, export rules and the race for compute');
    expect(article.version).toBe(1);
    expect(article.authors.map((a) => a.name)).toEqual(['Zed New-Writer', 'Existing Writer', 'Amy First']);
    expect(article.topics.map((t) => [t.name, t.slug])).toEqual([
      ['AI & Society', 'ai-and-society'],
      ['Export Controls', 'export-controls'],
    ]);
    expect(article.createdBy).toBe('test-editor');
    expect(article.updatedBy).toBe('test-editor');
    expect(await prisma.author.count({ where: { name: { contains: 'Existing Writer', mode: 'insensitive' } } })).toBe(
      1,
    );

    // the same topic by another spelling of its name (same slug), and an author by id
    const again = await created(
      articleInput({
        authors: [{ id: article.authors[0]!.id }],
        topics: [{ name: 'export controls' }, { id: article.topics[0]!.id }],
      }),
    );
    expect(again.authors.map((a) => a.id)).toEqual([article.authors[0]!.id]);
    expect(again.topics.map((t) => t.id).sort()).toEqual(article.topics.map((t) => t.id).sort());
  });

  it('reports every invalid field at once, with paths and codes, and writes nothing', async () => {
    const before = await snapshot();
    const tooManyAuthors = Array.from({ length: 21 }, (_, i) => ({ name: `Author ${i}` }));
    const result = await create({
      title: '   ',
      url: 'ftp://files.example/x',
      source: 'S'.repeat(201),
      publishedAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
      priority: 9,
      description: 'd'.repeat(5_001),
      authors: tooManyAuthors,
      topics: [{ name: '!!!' }, { id: Buffer.from('Topic:1').toString('base64'), name: 'both' }, { name: ' ' }],
    });
    expect(result.__typename).toBe('ValidationError');
    if (result.__typename !== 'ValidationError') return;
    expect(result.code).toBe('VALIDATION_FAILED');
    const issues = result.fields.map((f) => `${f.path.join('.')}:${f.code}`).sort();
    expect(issues).toEqual(
      [
        'input.title:REQUIRED',
        'input.url:INVALID_URL',
        'input.source:TOO_LONG',
        'input.publishedAt:IN_FUTURE',
        'input.priority:OUT_OF_RANGE',
        'input.description:TOO_LONG',
        'input.authors:TOO_MANY',
        'input.topics.0.name:INVALID_NAME',
        'input.topics.1:INVALID_REF',
        'input.topics.2.name:REQUIRED',
      ].sort(),
    );
    expect(await snapshot()).toEqual(before);
  });

  it('refuses URLs over 2,048 characters, as given or as written (percent-encoded), and non-absolute ones', async () => {
    for (const [url, code] of [
      [`https://long.example/${'a'.repeat(2048)}`, 'TOO_LONG'],
      // 1,041 characters as given, 6,041 as stored and exported (each é is %C3%A9): an export
      // of it could not be imported again
      [`https://long.example/${'é'.repeat(1000)}`, 'TOO_LONG'],
      ['/relative/path', 'INVALID_URL'],
      ['javascript:alert(1)', 'INVALID_URL'],
      // an empty label names no host: `ex.com..` is not `ex.com.` (the root) nor `ex.com`
      ['https://long.example../a', 'INVALID_URL'],
      ['https://long..example/a', 'INVALID_URL'],
    ] as const) {
      const result = await create(articleInput({ url }));
      expect(result.__typename === 'ValidationError' && result.fields.map((f) => f.code)).toEqual([code]);
    }
    // at the bound as written: filed
    const fits = `https://long.example/${'é'.repeat(337)}`;
    expect(new URL(fits).href.length).toBe(2043);
    expect((await create(articleInput({ url: fits }))).__typename).toBe('CreateArticleSuccess');
  });

  it('files a body whose words pass the 1 MB a search vector holds, searchable from its start', async () => {
    // 29,400 distinct words of two-byte letters that lower-case to three bytes: 1.5 MB of words
    // (PostgreSQL's "string is too long for tsvector", a 500 on every write of it before)
    const word = (i: number) => [...i.toString(2).padStart(16, '0')].map((bit) => (bit === '0' ? 'Ⱥ' : 'Ⱦ')).join('');
    const body = Array.from({ length: 29_400 }, (_, i) => word(i)).join(' ');
    expect(body.length).toBeLessThanOrEqual(TEXT_LIMITS.body);
    const SearchBody = graphql(`
      query SearchBody($search: String!) {
        articles(search: $search, first: 5) {
          edges {
            node {
              id
            }
          }
        }
      }
    `);
    const found = async (search: string) =>
      (await query(SearchBody, { search })).articles.edges.map((edge) => edge.node.id);
    const article = await created(articleInput({ body }));
    expect((await prisma.article.findUniqueOrThrow({ where: { urlKey: normalizeUrl(article.url) } })).body).toBe(body);
    expect(await found(word(1).toLowerCase())).toEqual([article.id]);
    // and an update to it, of another article
    const other = await created(articleInput());
    const updated = await execute(UpdateArticle, { input: { id: other.id, expectedVersion: 1, body } }, as.editor);
    expect(updated.data?.updateArticle.__typename).toBe('UpdateArticleSuccess');
    expect(new Set(await found(word(2)))).toEqual(new Set([article.id, other.id]));
  });

  it('answers STORE_REFUSED, having written nothing, when the database refuses a value the checks let through', async () => {
    // the next such value (as a body whose search vector passed 1 MB once was), stood in for by a
    // trigger: past a limit of the database (54000), or against a CHECK constraint (23514)
    for (const [refusal, state] of [
      ['program_limit_exceeded', '54000'],
      ['check_violation', '23514'],
    ] as const) {
      await whileRefusingTitles(
        'Refused value',
        async () => {
          const before = await snapshot();
          // a server of its own, to read its log
          const lines: string[] = [];
          const logger = createLogger(
            'info',
            new Writable({
              write(chunk, _encoding, done) {
                lines.push(String(chunk));
                done();
              },
            }),
          );
          const server = createServer(config(), { logger });
          const response = await server.fetch('http://newsgraph.test/graphql', {
            method: 'POST',
            headers: { ...as.editor, 'content-type': 'application/json' },
            body: JSON.stringify({
              query: print(CreateArticle),
              variables: { input: articleInput({ title: 'Refused value' }) },
            }),
          });
          const refused = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
          expect(refused.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
            ['STORE_REFUSED', `The database refused a value of this request (SQLSTATE ${state}); nothing was written`],
          ]);
          expect(await snapshot()).toEqual(before);
          // and the server logs it, as the check it lacks
          const logged = lines
            .map((line) => JSON.parse(line))
            .find((entry) => entry.msg === 'database refused a value');
          expect(logged).toMatchObject({ level: 50, sqlState: state, path: 'createArticle' });
        },
        refusal,
      );
    }
  });

  it('refuses a URL within 2,048 characters whose key is longer, having filed nothing, and files one whose key is at the bound', async () => {
    // `[ ] ^ |` stay raw in the link and take three characters each in its key: 2,019 characters
    // here, about 3,200 in the key, too varied to compress into a btree entry (a 500 before)
    const long = `https://long.example/${expandingPath(1_998, 'key')}`;
    expect(long.length).toBe(2_019);
    const before = await snapshot();
    const result = await create(articleInput({ url: long }));
    expect(
      result.__typename === 'ValidationError' && result.fields.map((f) => `${f.path.join('.')}:${f.code}`),
    ).toEqual(['input.url:TOO_LONG']);
    expect(await snapshot()).toEqual(before);
    const article = await created(articleInput({ url: 'https://long.example/short' }));
    const updated = await execute(
      UpdateArticle,
      { input: { id: article.id, expectedVersion: 1, url: long } },
      as.editor,
    );
    const out = updated.data?.updateArticle;
    expect(out?.__typename === 'ValidationError' && out.fields.map((f) => `${f.path.join('.')}:${f.code}`)).toEqual([
      'input.url:TOO_LONG',
    ]);
    const upserted = await execute(UpsertArticle, { input: articleInput({ url: long }) }, as.editor);
    expect(upserted.data?.upsertArticle.__typename).toBe('ValidationError');
    expect(await prisma.article.count()).toBe(before.articles + 1);
    // at the bound: 675 `|`, three characters each in the key
    const fits = `https://long.example/p/${'|'.repeat(675)}`;
    const key = `https://long.example/p/${'%7C'.repeat(675)}`;
    expect(key.length).toBe(2_048);
    const filed = await created(articleInput({ url: fits }));
    expect((await prisma.article.findUnique({ where: { urlKey: key }, select: { title: true } }))?.title).toBe(
      filed.title,
    );
    expect((await create(articleInput({ url: `${fits}|` }))).__typename).toBe('ValidationError');
  });

  it('returns DuplicateUrlError with the existing id for a URL that normalizes to a filed one', async () => {
    const first = await created(articleInput({ url: 'https://www.dup.example/world/story-1' }));
    const before = await snapshot();
    const result = await create(
      articleInput({ url: 'HTTPS://WWW.Dup.Example/world/story-1/?utm_source=newsletter&utm_medium=email#comments' }),
    );
    expect(result.__typename).toBe('DuplicateUrlError');
    expect(result.__typename === 'DuplicateUrlError' && result.existingId).toBe(first.id);
    expect(await snapshot()).toEqual(before);
  });

  it('takes a host with a trailing dot (the DNS root spelled out) for the same link', async () => {
    const first = await created(articleInput({ url: 'https://rootdot.example/world/story-1' }));
    for (const url of ['https://rootdot.example./world/story-1', 'HTTPS://RootDot.Example.:443/world/story-1/']) {
      const result = await create(articleInput({ url }));
      expect(result.__typename, url).toBe('DuplicateUrlError');
      expect(result.__typename === 'DuplicateUrlError' && result.existingId, url).toBe(first.id);
    }
  });

  it('rewrites keys filed with a trailing dot on the host, unless another article has the new key (migration url_key_root_dot)', async () => {
    const rows = await rowsAfterMigration('20261201194000_url_key_root_dot', [
      'https://olddot.example./a?x=1',
      'https://olddot.example.:8080/b',
      'https://olddot.example./c',
      'https://olddot.example/c',
      'https://olddot.example/d./e.',
    ]);
    expect(rows).toEqual([
      'https://olddot.example/a?x=1',
      'https://olddot.example:8080/b',
      'https://olddot.example./c',
      'https://olddot.example/c',
      'https://olddot.example/d./e.',
    ]);
  });

  it('takes links that differ only in how they percent-encode (RFC 3986 6.2.2) for the same link', async () => {
    await expectOneLink([
      ['https://percent.example/a%2fb', 'https://percent.example/a%2Fb'],
      ['https://percent.example/q?x=%2f', 'https://percent.example/q?x=%2F'],
      ['https://percent.example/~a', 'https://percent.example/%7Ea'],
      ['https://percent.example/%61b', 'https://percent.example/ab'],
    ]);
    // an encoded reserved character is not the character itself
    expect((await create(articleInput({ url: 'https://percent.example/a/b' }))).__typename).toBe(
      'CreateArticleSuccess',
    );
  });

  it('rewrites keys filed with other percent-encodings, unless another article has the new key (migration url_key_percent_encoding)', async () => {
    const rows = await rowsAfterMigration('20261201201500_url_key_percent_encoding', [
      'https://oldpct.example/a%2fb',
      'https://oldpct.example/%7Ea?x=%2f',
      'https://oldpct.example/%61b',
      'https://oldpct.example/ab',
      'https://oldpct.example/%zz%4',
      'https://oldpct.example/%C3%a9%25',
      // any byte may be encoded: %00 and non-ASCII bytes stay encoded (PostgreSQL text holds no NUL)
      'https://oldpct.example/nul%00%ff%80',
      // two old keys with one new form, which no article had: both stay as they were
      'https://oldpct.example/twin%7e',
      'https://oldpct.example/twin%7E',
      'https://oldpct.example/twin%2f',
    ]);
    expect(rows).toEqual([
      'https://oldpct.example/a%2Fb',
      'https://oldpct.example/~a?x=%2F',
      'https://oldpct.example/%61b',
      'https://oldpct.example/ab',
      'https://oldpct.example/%zz%4',
      'https://oldpct.example/%C3%A9%25',
      'https://oldpct.example/nul%00%FF%80',
      'https://oldpct.example/twin%7e',
      'https://oldpct.example/twin%7E',
      'https://oldpct.example/twin%2F',
    ]);
  });

  it('takes a character RFC 3986 does not allow raw and its percent-encoding for the same link', async () => {
    await expectOneLink([
      ['https://raw.example/a|b', 'https://raw.example/a%7Cb'],
      ['https://raw.example/x%5ey', 'https://raw.example/x^y'],
      ['https://raw.example/q[1]', 'https://raw.example/q%5B1%5D'],
      ['https://raw.example/p?x={1}', 'https://raw.example/p?x=%7B1%7D'],
      ['https://raw.example/p?y=`a^', 'https://raw.example/p?y=%60a%5E'],
      // a % that starts no encoding is the character itself
      ['https://raw.example/pct?q=100%', 'https://raw.example/pct?q=100%25'],
      ['https://raw.example/p%zz', 'https://raw.example/p%25zz'],
    ]);
  });

  it('takes a character a path or query holds raw and its percent-encoding for the same link, but not a separator', async () => {
    await expectOneLink([
      ['https://delims.example/wiki/Foo_(bar)', 'https://delims.example/wiki/Foo_%28bar%29'],
      ["https://delims.example/it's", 'https://delims.example/it%27s'],
      [
        'https://delims.example/a:b@c!d$e*f,g;h=i&j+k',
        'https://delims.example/a%3Ab%40c%21d%24e%2af%2Cg%3Bh%3Di%26j%2Bk',
      ],
      ['https://delims.example/q?x=(1):2@3!*,$/?', 'https://delims.example/q?x=%281%29%3a2%403%21%2A%2C%24%2F%3F'],
      ["https://delims.example/q?x='y'", 'https://delims.example/q?x=%27y%27'],
    ]);
    // a separator encoded is data, not a separator: each is its own link
    for (const url of [
      'https://delims.example/s?q=a&b',
      'https://delims.example/s?q=a%26b',
      'https://delims.example/s?q=a%3Db',
      'https://delims.example/s?q=a=b',
      'https://delims.example/s?q=a+b',
      'https://delims.example/s?q=a%2Bb',
      'https://delims.example/s?q=a;b',
      'https://delims.example/s?q=a%3Bb',
      'https://delims.example/p/a%2Fb',
      'https://delims.example/p/a%3Fb',
      'https://delims.example/p/a%23b',
    ]) {
      expect((await create(articleInput({ url }))).__typename, url).toBe('CreateArticleSuccess');
    }
  });

  it('rewrites keys filed with those characters encoded, unless another article has the new key (migration url_key_sub_delims)', async () => {
    const rows = await rowsAfterMigration('20261202013000_url_key_sub_delims', [
      'https://olddelims.example/wiki/Foo_%28bar%29',
      'https://olddelims.example/a%3Ab%40c%21d%24e%2af%2Cg%3Bh%3Di%26j%2Bk%27l%2Fm%3Fn',
      'https://olddelims.example/q?x=%281%29%3a2%403%21%2A%2C%24%2F%3F%27&y=a%26b%3Dc%2Bd%3Be',
      'https://olddelims.example/v?x=(1)',
      'https://olddelims.example/v?x=%281%29',
      // two old keys with one new form, which no article had: both stay as they were
      'https://olddelims.example/twin%2a',
      'https://olddelims.example/twin%2A',
      'https://olddelims.example/%2525%25',
    ]);
    expect(rows).toEqual([
      'https://olddelims.example/wiki/Foo_(bar)',
      "https://olddelims.example/a:b@c!d$e*f,g;h=i&j+k'l%2Fm%3Fn",
      "https://olddelims.example/q?x=(1):2@3!*,$/?'&y=a%26b%3Dc%2Bd%3Be",
      'https://olddelims.example/v?x=(1)',
      'https://olddelims.example/v?x=%281%29',
      'https://olddelims.example/twin%2a',
      'https://olddelims.example/twin%2A',
      'https://olddelims.example/%2525%25',
    ]);
  });

  it('keeps a fragment that routes a single-page site (#! or #/) as part of the link, and drops any other', async () => {
    await expectOneLink([
      ['https://spa.example/#!/story/1', 'https://SPA.example/#!/story/%31'],
      ['https://spa.example/#/news/(5)', 'https://spa.example/#/news/%285%29'],
      ['https://spa.example/#!/a|b', 'https://spa.example/#!/a%7cb'],
      ['https://spa.example/page', 'https://spa.example/page#top'],
      // an empty route is the page itself
      ['https://spa.example/home', 'https://spa.example/home#!/'],
      ['https://spa.example/home2', 'https://spa.example/home2#/?utm_source=x'],
      // judged, and normalized, as a path and query are
      ['https://spa.example/#!/story/3', 'https://spa.example/#%21/story/3/'],
      ['https://spa.example/#!/story/4?a=1', 'https://spa.example/#!/story/4?utm_source=x&a=%31'],
    ]);
    for (const url of [
      'https://spa.example/#!/story/2',
      'https://spa.example/#/story/2',
      'https://spa.example/#!story/2',
      'https://spa.example/#/story/2%2Fx',
      'https://spa.example/#!/story/4?a=1&b=2',
      'https://spa.example/#!/story/4?a=1%262',
    ]) {
      expect((await create(articleInput({ url }))).__typename, url).toBe('CreateArticleSuccess');
    }
    const Lookup = graphql(`
      query LookupRoute($url: String!) {
        article(url: $url) {
          url
        }
      }
    `);
    expect((await query(Lookup, { url: 'https://spa.example/?utm_source=x#!/story/%32' })).article?.url).toBe(
      'https://spa.example/#!/story/2',
    );
  });

  it("gives keys filed before their link's route back, unless another article has the new key (migration url_key_route_fragment)", async () => {
    const rows = await rowsAfterMigration('20261202014500_url_key_route_fragment', [
      { url: 'https://oldspa.example/#!/story/1', urlKey: 'https://oldspa.example' },
      { url: 'https://oldspa.example/x/#/news/%28a%29|b%zz%00%2f#c', urlKey: 'https://oldspa.example/x' },
      { url: 'https://oldspa.example/y#top', urlKey: 'https://oldspa.example/y' },
      { url: 'https://oldspa.example/z#!/', urlKey: 'https://oldspa.example/z' },
      {
        url: 'https://oldspa.example/w#%21/s/?utm_medium=y&%75tm_source=x&k=%26%28&&j#',
        urlKey: 'https://oldspa.example/w',
      },
      { url: 'https://oldspa.example/v#/?utm_source=x', urlKey: 'https://oldspa.example/v' },
      // a link whose new key another article has (filed since, under the new rule)
      'https://oldspa.example/u#!/b',
      { url: 'https://oldspa.example/u#!/b', urlKey: 'https://oldspa.example/u' },
    ]);
    expect(rows).toEqual([
      'https://oldspa.example#!/story/1',
      'https://oldspa.example/x#/news/(a)%7Cb%25zz%00%2F%23c',
      'https://oldspa.example/y',
      'https://oldspa.example/z',
      'https://oldspa.example/w#!/s?k=%26(&j%23',
      'https://oldspa.example/v',
      'https://oldspa.example/u#!/b',
      'https://oldspa.example/u',
    ]);
    // what normalizeUrl gives each link now
    expect(normalizeUrl('https://oldspa.example/x/#/news/%28a%29|b%zz%00%2f#c')).toBe(rows[1]);
    expect(normalizeUrl('https://oldspa.example/w#%21/s/?utm_medium=y&%75tm_source=x&k=%26%28&&j#')).toBe(rows[4]);
  });

  it('gives keys filed before exactly what normalizeUrl gives their links now (migration url_key_route_fragment, generated links)', async () => {
    // fragments of characters that matter to a route, in any order: the SQL and the TypeScript agree
    const alphabet = [
      '!',
      '/',
      '?',
      '&',
      '=',
      '%',
      '%21',
      '%2F',
      '%3f',
      '%26',
      '%7e',
      '%C3%A9',
      '+',
      '(',
      '#',
      'a',
      'Z',
      '9',
      '|',
      'utm_source=1',
      '%75tm_x',
    ];
    let state = 7;
    const next = () => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const links = Array.from({ length: 300 }, (_, i) => {
      const fragment = Array.from(
        { length: 1 + Math.floor(next() * 8) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
      return `https://genspa.example/g/${i}#${next() < 0.5 ? '!' : '/'}${fragment}`;
    });
    const rows = await rowsAfterMigration(
      '20261202014500_url_key_route_fragment',
      links.map((url) => ({ url: new URL(url).href, urlKey: normalizeUrl(url.slice(0, url.indexOf('#'))) })),
    );
    expect(rows).toEqual(links.map((url) => normalizeUrl(url)));
  });

  it('rewrites keys filed with those characters raw, unless another article has the new key or it would be too long (migration url_key_disallowed_characters)', async () => {
    const rows = await rowsAfterMigration('20261201221000_url_key_disallowed_characters', [
      'https://oldraw.example/a|b?x={1}&y=`\\',
      'http://[::1]/q[1]^',
      'https://oldraw.example/taken|',
      'https://oldraw.example/taken%7C',
      'https://oldraw.example/plain%7C',
      'https://oldraw.example/p%zz?q=100%&r=%4',
      // encoded, about 3,200 characters: longer than a key may be (and than a btree entry holds)
      `https://oldraw.example/${expandingPath(1_990, 'old')}`,
    ]);
    expect(rows).toEqual([
      'https://oldraw.example/a%7Cb?x=%7B1%7D&y=%60%5C',
      'http://[::1]/q%5B1%5D%5E',
      'https://oldraw.example/taken|',
      'https://oldraw.example/taken%7C',
      'https://oldraw.example/plain%7C',
      'https://oldraw.example/p%25zz?q=100%25&r=%254',
      `https://oldraw.example/${expandingPath(1_990, 'old')}`,
    ]);
  });

  it('is atomic: a failure midway leaves no article, author or topic behind', async () => {
    const before = await snapshot();
    const result = await create(
      articleInput({
        authors: [{ name: 'Only Created If All Succeeds' }, { id: Buffer.from('Author:999999').toString('base64') }],
        topics: [{ name: 'Brand New Topic' }],
      }),
    );
    expect(
      result.__typename === 'ValidationError' && result.fields.map((f) => `${f.path.join('.')}:${f.code}`),
    ).toEqual(['input.authors.1.id:NOT_FOUND']);
    expect(await snapshot()).toEqual(before);
    expect(await prisma.author.findFirst({ where: { name: 'Only Created If All Succeeds' } })).toBeNull();
  });

  it('refuses the same author twice in one byline', async () => {
    const result = await create(articleInput({ authors: [{ name: 'Twice Named' }, { name: 'twice  named' }] }));
    expect(
      result.__typename === 'ValidationError' && result.fields.map((f) => `${f.path.join('.')}:${f.code}`),
    ).toEqual(['input.authors.1:DUPLICATE']);
  });

  it('does not let clients set id, createdAt, updatedAt, version or createdBy', async () => {
    for (const field of ['id', 'createdAt', 'updatedAt', 'version', 'createdBy']) {
      const input = { ...articleInput(), [field]: field === 'version' ? 7 : 'x' } as CreateArticleInput;
      const result = await execute(CreateArticle, { input }, as.editor);
      expect(result.data ?? null, field).toBeNull();
      expect(result.errors?.[0]?.extensions?.code, field).toBe('BAD_USER_INPUT');
    }
  });

  it('looks articles up by any form of their URL', async () => {
    const article = await created(articleInput({ url: 'https://lookup.example/a/b' }));
    const Lookup = graphql(`
      query LookupByUrl($url: String!) {
        article(url: $url) {
          id
        }
      }
    `);
    const found = await query(Lookup, { url: 'https://LOOKUP.example/a/b/?utm_campaign=x#top' });
    expect(found.article?.id).toBe(article.id);
  });
});

describe('upsertArticle', () => {
  it('creates, then updates the same story filed under another form of its URL', async () => {
    const input = articleInput({
      url: 'https://upsert.example/story',
      summary: 'first',
      authors: [{ name: 'Up Sert' }],
    });
    const first = await execute(UpsertArticle, { input }, as.editor);
    const a = first.data!.upsertArticle;
    expect(a.__typename === 'UpsertArticleSuccess' && a.created).toBe(true);
    const second = await execute(
      UpsertArticle,
      {
        input: {
          ...input,
          url: 'https://UPSERT.example/story/?fbclid=abc',
          title: 'Updated title',
          summary: undefined,
          authors: undefined,
        },
      },
      as.editor,
    );
    const b = second.data!.upsertArticle;
    if (a.__typename !== 'UpsertArticleSuccess' || b.__typename !== 'UpsertArticleSuccess')
      throw new Error('expected success');
    expect(b.created).toBe(false);
    expect(b.article!.id).toBe(a.article!.id);
    expect(b.article!.title).toBe('Updated title');
    expect(b.article!.version).toBe(2);
    // left out: kept
    expect(b.article!.summary).toBe('first');
    expect(b.article!.authors.map((x) => x.name)).toEqual(['Up Sert']);
    // the link as last filed is kept, as a browser reads it; its normalized form is the identity
    expect(b.article!.url).toBe('https://upsert.example/story/?fbclid=abc');
  });

  it('makes exactly one row from 20 concurrent upserts whose URLs normalize alike', async () => {
    const variants = Array.from({ length: 20 }, (_, i) =>
      i % 2 ? `https://concurrent.example/story/?utm_source=s${i}` : `HTTPS://Concurrent.Example/story#part${i}`,
    );
    const results = await Promise.all(
      variants.map((url, i) =>
        execute(
          UpsertArticle,
          {
            input: articleInput({
              url,
              title: `Concurrent ${i}`,
              authors: [{ name: 'Racing Author' }],
              topics: [{ name: 'Racing' }],
            }),
          },
          as.editor,
        ),
      ),
    );
    const outcomes = results.map((r) => r.data?.upsertArticle);
    expect(outcomes.every((o) => o?.__typename === 'UpsertArticleSuccess')).toBe(true);
    expect(outcomes.filter((o) => o?.__typename === 'UpsertArticleSuccess' && o.created)).toHaveLength(1);
    const rows = await prisma.article.findMany({
      where: { urlKey: 'https://concurrent.example/story' },
      include: { authors: true, topics: true },
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.version).toBe(20);
    expect(rows[0]!.authors).toHaveLength(1);
    expect(rows[0]!.topics).toHaveLength(1);
    expect(await prisma.author.count({ where: { name: 'Racing Author' } })).toBe(1);
    expect((await prisma.author.findFirstOrThrow({ where: { name: 'Racing Author' } })).articleCount).toBe(1);
  });
});

describe('concurrent writes', () => {
  it('files articles with overlapping bylines in opposite orders at once (no deadlock)', async () => {
    await prisma.author.createMany({ data: [{ name: 'Lock Alpha' }, { name: 'Lock Beta' }, { name: 'Lock Gamma' }] });
    const orders = [
      ['Lock Alpha', 'Lock Beta', 'Lock Gamma'],
      ['Lock Gamma', 'Lock Beta', 'Lock Alpha'],
    ];
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        execute(
          CreateArticle,
          {
            input: articleInput({
              authors: orders[i % 2]!.map((name) => ({ name })),
              topics: [{ name: i % 2 ? 'Lock T1' : 'Lock T2' }, { name: i % 2 ? 'Lock T2' : 'Lock T1' }],
            }),
          },
          as.editor,
        ),
      ),
    );
    expect(results.map((r) => r.errors ?? r.data?.createArticle.__typename)).toEqual(
      Array(16).fill('CreateArticleSuccess'),
    );
    expect((await prisma.author.findFirstOrThrow({ where: { name: 'Lock Beta' } })).articleCount).toBe(16);
    expect((await prisma.topic.findUniqueOrThrow({ where: { slug: 'lock-t1' } })).articleCount).toBe(16);
  });
});

describe('updateArticle', () => {
  it('changes the given fields, keeps the rest, and increments version and updatedAt', async () => {
    const article = await created(
      articleInput({
        summary: 'keep me',
        authors: [{ name: 'B Second' }, { name: 'A First' }],
        topics: [{ name: 'One' }, { name: 'Two' }],
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    const result = await execute(
      UpdateArticle,
      {
        input: {
          id: article.id,
          expectedVersion: 1,
          priority: 5,
          source: 'Corrected Source',
          authors: [{ name: 'A First' }, { name: 'B Second' }, { name: 'C Third' }],
          topics: { add: [{ name: 'Three' }], remove: [{ name: 'One' }, { name: 'Not On It' }] },
        },
      },
      as.admin,
    );
    const out = result.data!.updateArticle;
    if (out.__typename !== 'UpdateArticleSuccess') throw new Error(JSON.stringify(out));
    expect(out.article.version).toBe(2);
    expect(out.article.priority).toBe(5);
    expect(out.article.source).toBe('Corrected Source');
    expect(out.article.summary).toBe('keep me');
    expect(out.article.title).toBe(article.title);
    expect(new Date(out.article.updatedAt).getTime()).toBeGreaterThan(new Date(article.updatedAt).getTime());
    expect(out.article.updatedBy).toBe('test-admin');
    expect(out.article.authors.map((a) => a.name)).toEqual(['A First', 'B Second', 'C Third']);
    expect(out.article.topics.map((t) => t.name)).toEqual(['Three', 'Two']);
    expect(await prisma.topic.findUnique({ where: { slug: 'not-on-it' } })).toBeNull();

    const set = await execute(
      UpdateArticle,
      { input: { id: article.id, expectedVersion: 2, topics: { set: [{ name: 'Only' }] } } },
      as.editor,
    );
    const setOut = set.data!.updateArticle;
    expect(setOut.__typename === 'UpdateArticleSuccess' && setOut.article.topics.map((t) => t.name)).toEqual(['Only']);
  });

  it('returns VersionConflictError with the current version for a stale expectedVersion, changing nothing', async () => {
    const article = await created(articleInput());
    await execute(UpdateArticle, { input: { id: article.id, expectedVersion: 1, title: 'Second' } }, as.editor);
    const before = await snapshot();
    const stale = await execute(
      UpdateArticle,
      { input: { id: article.id, expectedVersion: 1, title: 'Lost update' } },
      as.editor,
    );
    const out = stale.data!.updateArticle;
    expect(out.__typename).toBe('VersionConflictError');
    expect(out.__typename === 'VersionConflictError' && out.currentVersion).toBe(2);
    expect(await snapshot()).toEqual(before);
    expect((await prisma.article.findFirstOrThrow({ where: { title: 'Second' } })).version).toBe(2);
  });

  it('lets exactly one of 10 concurrent updates with the same expectedVersion succeed', async () => {
    const article = await created(articleInput());
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        execute(
          UpdateArticle,
          { input: { id: article.id, expectedVersion: 1, title: `Racer ${i}`, authors: [{ name: `Racer ${i}` }] } },
          as.editor,
        ),
      ),
    );
    const kinds = results.map((r) => r.data?.updateArticle.__typename);
    expect(kinds.filter((k) => k === 'UpdateArticleSuccess')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'VersionConflictError')).toHaveLength(9);
    const row = await prisma.article.findFirstOrThrow({
      where: { urlKey: article.url },
      include: { authors: { include: { author: true } } },
    });
    expect(row.version).toBe(2);
    expect(row.authors.map((a) => a.author.name)).toEqual([row.title]);
  });

  it('returns NotFoundError for an article that does not exist', async () => {
    const id = Buffer.from('Article:987654').toString('base64');
    const result = await execute(UpdateArticle, { input: { id, expectedVersion: 1, title: 'x' } }, as.editor);
    expect(result.data!.updateArticle.__typename).toBe('NotFoundError');
  });

  it('refuses null for required fields, an empty change, and a URL of another article', async () => {
    const one = await created(articleInput());
    const two = await created(articleInput());
    const nulls = await execute(
      UpdateArticle,
      { input: { id: one.id, expectedVersion: 1, title: null, priority: null } },
      as.editor,
    );
    const out = nulls.data!.updateArticle;
    expect(
      out.__typename === 'ValidationError' && out.fields.map((f) => `${f.path.join('.')}:${f.code}`).sort(),
    ).toEqual(['input.priority:REQUIRED', 'input.title:REQUIRED']);
    const empty = await execute(UpdateArticle, { input: { id: one.id, expectedVersion: 1 } }, as.editor);
    expect(
      empty.data!.updateArticle.__typename === 'ValidationError' && empty.data!.updateArticle.fields[0]!.code,
    ).toBe('NOTHING_TO_UPDATE');
    const dup = await execute(
      UpdateArticle,
      { input: { id: one.id, expectedVersion: 1, url: `${two.url}/` } },
      as.editor,
    );
    expect(dup.data!.updateArticle.__typename === 'DuplicateUrlError' && dup.data!.updateArticle.existingId).toBe(
      two.id,
    );
    expect((await prisma.article.findFirstOrThrow({ where: { urlKey: one.url } })).version).toBe(1);
  });
});

describe('deleteArticle', () => {
  it('deletes (admin), updates author counts, and returns NotFoundError the second time', async () => {
    const article = await created(articleInput({ authors: [{ name: 'Counted Once' }] }));
    expect((await prisma.author.findFirstOrThrow({ where: { name: 'Counted Once' } })).articleCount).toBe(1);
    const result = await execute(DeleteArticle, { input: { id: article.id } }, as.admin);
    expect(
      result.data!.deleteArticle.__typename === 'DeleteArticleSuccess' && result.data!.deleteArticle.deletedId,
    ).toBe(article.id);
    expect((await prisma.author.findFirstOrThrow({ where: { name: 'Counted Once' } })).articleCount).toBe(0);
    const again = await execute(DeleteArticle, { input: { id: article.id } }, as.admin);
    expect(again.data!.deleteArticle.__typename).toBe('NotFoundError');
  });
});
