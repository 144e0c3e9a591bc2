import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../src/config.ts';
import { encodeCursor } from '../src/resolvers/lists/connection.ts';
import { createServer } from '../src/yoga.ts';
import { yoga } from './support/api.ts';
import { globalId } from './support/demo.ts';
import { callers, snapshot, type Caller } from './support/keys.ts';

/**
 * Each kind of bad input, one focused test each, with the right answer as the expectation:
 * NUL and lone surrogates, numbers a column cannot hold, impossible dates, lengths in
 * characters, names in any script and their slugs, human order, invisible values, empty
 * operators and no-op updates, deep input, IDs of types that are not nodes, unsafe links and
 * bounds finer than a millisecond. (Unicode normalization: names.test.ts.)
 */

let as: Record<Caller, Record<string, string>>;
beforeAll(async () => {
  as = await callers();
});

interface Answer {
  status: number;
  data?: any;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

async function post(query: string, variables: object = {}, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await yoga.fetch('http://newsgraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as object) };
}

const codes = (answer: Answer) => (answer.errors ?? []).map((error) => error.extensions?.code);

let n = 0;
const FILE = `mutation($input: CreateArticleInput!) {
  createArticle(input: $input) {
    __typename
    ... on CreateArticleSuccess { article { id title description version authors { name } topics { name slug } } }
    ... on ValidationError { fields { path code message } }
  }
}`;
function article(fields: object = {}) {
  n += 1;
  return {
    title: `Boundary ${n}`,
    url: `https://boundary.example/${n}`,
    source: 'Boundary',
    publishedAt: '2026-03-01T00:00:00Z',
    priority: 2,
    ...fields,
  };
}
const file = (fields: object = {}) => post(FILE, { input: article(fields) }, as.editor);

describe('NUL characters and lone surrogates', () => {
  const COUNT = 'query($s: String!) { articles(filter: { title: { contains: $s } }) { totalCount } }';

  it('are refused with BAD_USER_INPUT (HTTP 400) in any query argument, nested ones too, before any SQL', async () => {
    for (const bad of ['chip\u0000s', 'chip\ud800s', '\udfff']) {
      const answer = await post(COUNT, { s: bad });
      expect(answer.status).toBe(400);
      expect(codes(answer)).toEqual(['BAD_USER_INPUT']);
    }
    const nested = await post(
      '{ authors(first: 1) { edges { node { articles(filter: { source: { equals: "a\\u0000" } }) { totalCount } } } } }',
    );
    expect(codes(nested)).toEqual(['BAD_USER_INPUT']);
    const marker = await post(
      'query($m: String!) { articles(search: "chips") { edges { highlight(startMarker: $m) } } }',
      { m: '\u0000' },
    );
    expect(codes(marker)).toEqual(['BAD_USER_INPUT']);
    const search = await post('query($s: String!) { articles(search: $s) { totalCount } }', { s: 'x\u0000' });
    expect(codes(search)).toEqual(['BAD_USER_INPUT']);
  });

  it('are a ValidationError with INVALID_CHARACTER on mutations, every field at once, nothing written', async () => {
    const before = await snapshot();
    const answer = await file({
      title: 'chip\u0000s',
      body: 'half \ud83d pair',
      authors: [{ name: 'Ann\u0000' }, { name: '\udc00' }],
    });
    expect(answer.data.createArticle.__typename).toBe('ValidationError');
    expect(
      answer.data.createArticle.fields
        .map((f: { path: string[]; code: string }) => `${f.path.join('.')}:${f.code}`)
        .sort(),
    ).toEqual([
      'input.authors.0.name:INVALID_CHARACTER',
      'input.authors.1.name:INVALID_CHARACTER',
      'input.body:INVALID_CHARACTER',
      'input.title:INVALID_CHARACTER',
    ]);
    const author = await post(
      'mutation($n: String!) { createAuthor(input: { name: $n }) { __typename } }',
      { n: 'A\u0000' },
      as.editor,
    );
    expect(author.data.createAuthor.__typename).toBe('ValidationError');
    expect(await snapshot()).toEqual(before);
  });
});

describe('numbers a column cannot hold', () => {
  it('are refused in filters (priority is a smallint), values it holds are compared', async () => {
    for (const value of [32768, -32769, 2147483647]) {
      const answer = await post('query($p: Int!) { articles(filter: { priority: { equals: $p } }) { totalCount } }', {
        p: value,
      });
      expect(codes(answer), String(value)).toEqual(['BAD_USER_INPUT']);
    }
    const inList = await post('{ articles(filter: { priority: { in: [1, 40000] } }) { totalCount } }');
    expect(codes(inList)).toEqual(['BAD_USER_INPUT']);
    const search = await post('{ articles(search: "chips", filter: { priority: { gt: 40000 } }) { totalCount } }');
    expect(codes(search)).toEqual(['BAD_USER_INPUT']);
    const ok = await post('{ articles(filter: { priority: { equals: 32767 } }) { totalCount } }');
    expect(ok.data).toEqual({ articles: { totalCount: 0 } });
    // 2^31 is not an Int at all: graphql-js refuses it
    const huge = await post('query($p: Int!) { articles(filter: { priority: { equals: $p } }) { totalCount } }', {
      p: 2 ** 31,
    });
    expect(codes(huge)).toEqual(['BAD_USER_INPUT']);
  });

  it('are refused in edited cursors (INVALID_CURSOR)', async () => {
    const terms = [{ column: 'priority', kind: 'smallint' as const, direction: 'ASC' as const }];
    for (const values of [
      [40000, 1],
      [1, 2 ** 40],
      [1, -(2 ** 31) - 1],
    ]) {
      const cursor = encodeCursor(terms, values);
      const answer = await post(
        `{ articles(orderBy: [{ field: PRIORITY, direction: ASC }], after: "${cursor}") { totalCount } }`,
      );
      expect(codes(answer), JSON.stringify(values)).toEqual(['INVALID_CURSOR']);
    }
    const titleTerms = [{ column: 'title', kind: 'string' as const, direction: 'ASC' as const }];
    for (const key of ['a\u0000', '\ud800', 'x'.repeat(501)]) {
      const cursor = encodeCursor(titleTerms, [key, 1]);
      const answer = await post(`{ articles(orderBy: [{ field: TITLE }], after: "${cursor}") { totalCount } }`);
      expect(codes(answer)).toEqual(['INVALID_CURSOR']);
    }
    const dateTerms = [{ column: 'publishedAt', kind: 'date' as const, direction: 'DESC' as const }];
    for (const key of ['0000-01-01T00:00:00.000Z', '+010000-01-01T00:00:00.000Z', '2026-02-30T00:00:00.000Z']) {
      const cursor = encodeCursor(dateTerms, [key, 1]);
      const answer = await post(`{ articles(after: "${cursor}") { totalCount } }`);
      expect(codes(answer), key).toEqual(['INVALID_CURSOR']);
    }
  });
});

describe('dates', () => {
  const BEFORE = 'query($d: DateTime!) { articles(filter: { publishedAt: { lt: $d } }) { totalCount } }';

  it('are refused when they do not exist or fall outside years 0001-9999, never rolled over', async () => {
    for (const value of [
      '2026-02-30T12:00:00Z',
      '2025-02-29',
      '2026-13-01',
      '2026-04-31',
      '0000-01-01',
      '10000-01-01',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01T10:00:00+24:00',
      '2026-01-01T10:00:00',
    ]) {
      const answer = await post(BEFORE, { d: value });
      expect(codes(answer), value).toEqual(['BAD_USER_INPUT']);
      const created = await file({ publishedAt: value });
      expect(codes(created), value).toEqual(['BAD_USER_INPUT']);
    }
    for (const value of ['2024-02-29', '0001-01-01', '9999-12-31T23:59:59.999Z', '2026-01-01T10:00:00-03:30']) {
      expect(codes(await post(BEFORE, { d: value })), value).toEqual([]);
    }
  });

  it('are refused when an offset carries them outside the range, on every path', async () => {
    const paths = `query($f: ArticleFilter!) {
      a: articles(filter: $f) { totalCount }
      s: articles(filter: $f, search: "boundary") { totalCount }
      f: articleFacets(filter: $f) { total }
    }`;
    for (const value of [
      '0001-01-01T00:00:00+14:00',
      '0001-01-01T00:00:00+00:01',
      '9999-12-31T23:59:59-12:00',
      '9999-12-31T23:59:59.9995Z',
    ]) {
      for (const op of ['lt', 'gte', 'gt']) {
        const answer = await post(paths, { f: { publishedAt: { [op]: value } } });
        expect(answer.status, `${op} ${value}`).toBe(400);
        expect(codes(answer), `${op} ${value}`).toEqual(['BAD_USER_INPUT']);
      }
    }
    const dateTerms = [{ column: 'publishedAt', kind: 'date' as const, direction: 'DESC' as const }];
    const cursor = encodeCursor(dateTerms, ['0001-01-01T00:00:00+14:00', 1]);
    expect(codes(await post(`{ articles(after: "${cursor}") { totalCount } }`))).toEqual(['INVALID_CURSOR']);
  });

  it('round bounds finer than a millisecond so that comparisons stay true', async () => {
    const filed = await file({ title: 'Exactly midnight', publishedAt: '2026-05-01T00:00:00.000Z' });
    expect(filed.data.createArticle.__typename).toBe('CreateArticleSuccess');
    const query = `query($f: ArticleFilter!) {
      plain: articles(filter: $f) { totalCount }
      searched: articles(filter: $f, search: "midnight") { totalCount }
      articleFacets(filter: $f) { total }
    }`;
    const bound = '2026-05-01T00:00:00.0005Z';
    for (const [op, expected] of [
      ['lt', 1],
      ['lte', 1],
      ['gt', 0],
      ['gte', 0],
    ] as const) {
      const answer = await post(query, {
        f: { title: { equals: 'Exactly midnight' }, publishedAt: { [op]: bound } },
      });
      expect(answer.data, op).toEqual({
        plain: { totalCount: expected },
        searched: { totalCount: expected },
        articleFacets: { total: expected },
      });
    }
  });
});

describe('lengths count characters, not UTF-16 units', () => {
  it('takes a title of 500 emoji and refuses 501, saying so', async () => {
    const ok = await file({ title: '🚀'.repeat(500) });
    expect(ok.data.createArticle.__typename).toBe('CreateArticleSuccess');
    const long = await file({ title: '🚀'.repeat(501) });
    expect(long.data.createArticle.fields).toEqual([
      { path: ['input', 'title'], code: 'TOO_LONG', message: 'Must be at most 500 characters (got 501)' },
    ]);
    const filter = await post('query($s: String!) { articles(filter: { title: { contains: $s } }) { totalCount } }', {
      s: '🚀'.repeat(500),
    });
    expect(filter.data).toEqual({ articles: { totalCount: 1 } });
    const search = await post('query($s: String!) { articles(search: $s) { totalCount } }', { s: '🚀'.repeat(500) });
    expect(codes(search)).toEqual([]);
  });
});

describe('names in any script, and their slugs', () => {
  const TOPIC = `mutation($input: CreateTopicInput!) {
    createTopic(input: $input) {
      __typename
      ... on CreateTopicSuccess { topic { name slug } }
      ... on ValidationError { fields { path code } }
    }
  }`;

  it('makes topics of Japanese, Russian, Korean, Hindi and German names, with slugs that keep them', async () => {
    for (const [name, slug] of [
      ['日本語', '日本語'],
      ['Россия', 'россия'],
      ['한국어', '한국어'],
      ['हिन्दी', 'हिन्दी'],
      ['Straße', 'strasse'],
      ['Ångström Lab', 'angstrom-lab'],
    ]) {
      const answer = await post(TOPIC, { input: { name } }, as.editor);
      expect(answer.data.createTopic, name).toEqual({ __typename: 'CreateTopicSuccess', topic: { name, slug } });
    }
    const found = await post('{ topic(slug: "россия") { name } }');
    expect(found.data.topic).toEqual({ name: 'Россия' });
  });

  it('gives distinct names distinct slugs, never tagging one with the other', async () => {
    const plus = await post(TOPIC, { input: { name: 'C++' } }, as.editor);
    expect(plus.data.createTopic.topic).toEqual({ name: 'C++', slug: 'c' });
    const sharp = await file({ topics: [{ name: 'C#' }] });
    expect(sharp.data.createArticle.article.topics).toEqual([{ name: 'C#', slug: 'c-2' }]);
    const again = await file({ topics: [{ name: 'c#' }, { name: 'C' }] });
    expect(again.data.createArticle.article.topics).toEqual([
      { name: 'C', slug: 'c-3' },
      { name: 'C#', slug: 'c-2' },
    ]);
    const given = await post(TOPIC, { input: { name: 'C Language', slug: 'c' } }, as.editor);
    expect(given.data.createTopic).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'slug'], code: 'TAKEN' }],
    });
    const bad = await post(TOPIC, { input: { name: 'Fine', slug: 'Россия' } }, as.editor);
    expect(bad.data.createTopic.fields).toEqual([{ path: ['input', 'slug'], code: 'INVALID_SLUG' }]);
  });

  it('keeps a slug set by hand when the name is only respelled', async () => {
    const made = await post(TOPIC, { input: { name: 'Rust Lang', slug: 'rust-programming' } }, as.editor);
    expect(made.data.createTopic.topic.slug).toBe('rust-programming');
    const { data } = await post('{ topic(slug: "rust-programming") { id } }');
    const rename = `mutation($input: UpdateTopicInput!) { updateTopic(input: $input) { ... on UpdateTopicSuccess { topic { name slug } } } }`;
    const respelled = await post(rename, { input: { id: data.topic.id, name: 'RUST  lang' } }, as.editor);
    expect(respelled.data.updateTopic.topic).toEqual({ name: 'RUST lang', slug: 'rust-programming' });
    const renamed = await post(rename, { input: { id: data.topic.id, name: 'Rustaceans' } }, as.editor);
    expect(renamed.data.updateTopic.topic).toEqual({ name: 'Rustaceans', slug: 'rustaceans' });
  });
});

describe('order by title and name', () => {
  it('is dictionary order, not byte order, in both directions and across pages', async () => {
    const titles = ['Banana', 'Zulu', 'apple', 'zebra', 'Ångström', 'Éclair'];
    for (const title of titles) await file({ title, source: 'Order Test' });
    const expected = ['Ångström', 'apple', 'Banana', 'Éclair', 'zebra', 'Zulu'];
    const page = (args: string) =>
      post(`{ articles(filter: { source: { equals: "Order Test" } }, orderBy: [{ field: TITLE }], ${args}) {
        edges { node { title } } pageInfo { endCursor }
      } }`);
    const whole = await page('first: 10');
    expect(whole.data.articles.edges.map((e: { node: { title: string } }) => e.node.title)).toEqual(expected);
    const walked: string[] = [];
    let after = '';
    for (let i = 0; i < 3; i++) {
      const next = await page(`first: 2${after}`);
      walked.push(...next.data.articles.edges.map((e: { node: { title: string } }) => e.node.title));
      after = `, after: "${next.data.articles.pageInfo.endCursor}"`;
    }
    expect(walked).toEqual(expected);
    const down =
      await post(`{ articles(filter: { source: { equals: "Order Test" } }, orderBy: [{ field: TITLE, direction: DESC }]) {
      edges { node { title } } } }`);
    expect(down.data.articles.edges.map((e: { node: { title: string } }) => e.node.title)).toEqual(
      [...expected].reverse(),
    );
    for (const name of ['Zulu Writer', 'Émile Writer', 'adam Writer', 'Bob Writer']) {
      await post('mutation($n: String!) { createAuthor(input: { name: $n }) { __typename } }', { n: name }, as.editor);
    }
    for (const source of ['Zeit', 'apple', 'Ärzte', 'Banana']) await file({ source, title: 'Tie order' });
    const ties = await post('{ articleFacets(filter: { title: { equals: "Tie order" } }) { sources { source } } }');
    expect(ties.data.articleFacets.sources.map((s: { source: string }) => s.source)).toEqual([
      'apple',
      'Ärzte',
      'Banana',
      'Zeit',
    ]);
    const authors = await post(
      '{ authors(filter: { name: { contains: "Writer" } }, first: 10) { edges { node { name } } } }',
    );
    expect(authors.data.authors.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([
      'adam Writer',
      'Bob Writer',
      'Émile Writer',
      'Zulu Writer',
    ]);
  });

  it("lists an article's topics A-Z in the database's order, whichever topic fields are asked for", async () => {
    const names = ['Zulu Shelf', 'apple Shelf', 'Éclair Shelf', 'Banana Shelf', 'Ångström Shelf', 'zebra Shelf'];
    const made = await file({ title: 'Shelved', topics: names.map((name) => ({ name })) });
    const id = made.data.createArticle.article.id;
    const listed = await post(
      `{ topics(filter: { name: { contains: "Shelf" } }, orderBy: [{ field: NAME }], first: 10) { edges { node { name slug } } } }`,
    );
    const inOrder = listed.data.topics.edges.map((e: { node: { name: string; slug: string } }) => e.node);
    expect(inOrder.map((t: { name: string }) => t.name)).toEqual([
      'Ångström Shelf',
      'apple Shelf',
      'Banana Shelf',
      'Éclair Shelf',
      'zebra Shelf',
      'Zulu Shelf',
    ]);
    expect(made.data.createArticle.article.topics).toEqual(inOrder);
    const slugsOnly = await post('query($id: ID!) { article(id: $id) { topics { slug } } }', { id });
    expect(slugsOnly.data.article.topics.map((t: { slug: string }) => t.slug)).toEqual(
      inOrder.map((t: { slug: string }) => t.slug),
    );
    const inList = await post(
      '{ articles(filter: { title: { equals: "Shelved" } }) { edges { node { topics { id } } } } }',
    );
    const byId = await post('query($id: ID!) { article(id: $id) { topics { id name } } }', { id });
    expect(byId.data.article.topics.map((t: { name: string }) => t.name)).toEqual(
      inOrder.map((t: { name: string }) => t.name),
    );
    expect(inList.data.articles.edges[0].node.topics).toEqual(
      byId.data.article.topics.map(({ id }: { id: string }) => ({ id })),
    );
  });
});

describe('invisible values', () => {
  it('count as empty: a title of zero-width spaces and a name of direction marks are REQUIRED', async () => {
    const before = await snapshot();
    const answer = await file({ title: '\u200b\u200b\u200b', authors: [{ name: '\u200f\u200e\u200f' }] });
    expect(
      answer.data.createArticle.fields.map((f: { path: string[]; code: string }) => `${f.path.join('.')}:${f.code}`),
    ).toEqual(['input.title:REQUIRED', 'input.authors.0.name:REQUIRED']);
    expect(await snapshot()).toEqual(before);
    const blankBody = await file({ description: '\u200b \u2060' });
    expect(blankBody.data.createArticle.article.description).toBe('');
    for (const blank of ['\u2800\u2800', '\u0301', '\u0301\u0301 ', '\u3164']) {
      const answer = await file({ title: blank, authors: [{ name: blank }] });
      expect(
        answer.data.createArticle.fields.map((f: { code: string }) => f.code),
        JSON.stringify(blank),
      ).toEqual(['REQUIRED', 'REQUIRED']);
    }
  });

  it('refuse control characters such as terminal escapes, and make titles one line', async () => {
    const escape = await file({ title: 'a\u001b[31mRED', summary: 'bell \u0007' });
    expect(
      escape.data.createArticle.fields
        .map((f: { path: string[]; code: string }) => `${f.path.join('.')}:${f.code}`)
        .sort(),
    ).toEqual(['input.summary:INVALID_CHARACTER', 'input.title:INVALID_CHARACTER']);
    const lines = await file({ title: 'Two\nlines\t here', body: 'Para one.\n\n\tPara two.' });
    expect(lines.data.createArticle.article.title).toBe('Two lines here');
  });

  it('measure long text as stored: trailing spaces neither pass a limit nor count against it', async () => {
    const padded = await file({ description: `${'a'.repeat(5000)}${' '.repeat(20000)}` });
    expect(padded.data.createArticle.article.description).toBe('a'.repeat(5000));
    const long = await file({ description: 'a'.repeat(5001) });
    expect(long.data.createArticle.fields.map((f: { code: string }) => f.code)).toEqual(['TOO_LONG']);
  });
});

describe('empty operators and changes', () => {
  it('NOT of no condition matches nothing; AND of none and OR with an empty branch match everything', async () => {
    const total = (await post('{ articles { totalCount } }')).data.articles.totalCount;
    expect(total).toBeGreaterThan(0);
    const answer = await post(`{
      not: articles(filter: { NOT: {} }) { totalCount }
      notAnd: articles(filter: { NOT: { AND: [] } }) { totalCount }
      and: articles(filter: { AND: [] }) { totalCount }
      or: articles(filter: { OR: [{}, { priority: { equals: 5 } }] }) { totalCount }
      emptyOr: articles(filter: { OR: [] }) { totalCount }
      searchNot: articles(search: "boundary", filter: { NOT: {} }) { totalCount }
      facets: articleFacets(filter: { NOT: {} }) { total }
      notPriority: articles(filter: { NOT: { priority: {} } }) { totalCount }
      notDate: articles(filter: { NOT: { publishedAt: {}, createdAt: {} } }) { totalCount }
      facetsNotPriority: articleFacets(filter: { NOT: { priority: {} } }) { total }
    }`);
    expect(answer.data).toEqual({
      not: { totalCount: 0 },
      notAnd: { totalCount: 0 },
      and: { totalCount: total },
      or: { totalCount: total },
      emptyOr: { totalCount: 0 },
      searchNot: { totalCount: 0 },
      facets: { total: 0 },
      notPriority: { totalCount: 0 },
      notDate: { totalCount: 0 },
      facetsNotPriority: { total: 0 },
    });
  });

  it('an update that changes nothing is refused or leaves the version alone', async () => {
    const filed = await file({ title: 'Unchanged', topics: [{ name: 'Steady' }], authors: [{ name: 'Same Writer' }] });
    const { id, version } = filed.data.createArticle.article;
    const UPDATE = `mutation($input: UpdateArticleInput!) {
      updateArticle(input: $input) {
        __typename
        ... on UpdateArticleSuccess { article { version } }
        ... on ValidationError { fields { path code } }
      }
    }`;
    const empty = await post(UPDATE, { input: { id, expectedVersion: version, topics: {} } }, as.editor);
    expect(empty.data.updateArticle).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input'], code: 'NOTHING_TO_UPDATE' }],
    });
    for (const change of [
      { title: 'Unchanged' },
      { topics: { add: [], remove: [] }, title: ' Unchanged ' },
      { topics: { set: [{ name: 'steady' }] } },
      { topics: { add: [{ name: 'STEADY' }] } },
      { authors: [{ name: 'same writer' }] },
    ]) {
      const same = await post(UPDATE, { input: { id, expectedVersion: version, ...change } }, as.editor);
      expect(same.data.updateArticle, JSON.stringify(change)).toEqual({
        __typename: 'UpdateArticleSuccess',
        article: { version },
      });
    }
    const changed = await post(UPDATE, { input: { id, expectedVersion: version, title: 'Changed' } }, as.editor);
    expect(changed.data.updateArticle.article.version).toBe(version + 1);
    // filing the same story again with nothing new changes nothing either
    const again = await post(
      `mutation($input: CreateArticleInput!) { upsertArticle(input: $input) { __typename ... on UpsertArticleSuccess { created article { version } } } }`,
      {
        input: {
          title: 'Changed',
          url: `https://boundary.example/${n}`,
          source: 'Boundary',
          publishedAt: '2026-03-01T00:00:00Z',
          priority: 2,
          authors: [{ name: 'Same Writer' }],
        },
      },
      as.editor,
    );
    expect(again.data.upsertArticle).toEqual({
      __typename: 'UpsertArticleSuccess',
      created: false,
      article: { version: version + 1 },
    });
  });
});

describe('deep input', () => {
  it('is refused before coercion, as a variable or a literal, never overflowing the stack', async () => {
    const filter: Record<string, unknown> = {};
    let level = filter;
    for (let i = 0; i < 2000; i++) {
      level.NOT = {};
      level = level.NOT as Record<string, unknown>;
    }
    const variable = await post('query($f: ArticleFilter) { articles(filter: $f) { totalCount } }', { f: filter });
    expect(variable.status).toBe(400);
    expect(codes(variable)).toEqual(['BAD_USER_INPUT']);
    const literal = await post(`{ articles(filter: ${'{ NOT: '.repeat(2000)}{}${' }'.repeat(2000)}) { totalCount } }`);
    expect(literal.status).toBeLessThan(500);
    expect(codes(literal)).toEqual(['TOO_MANY_TOKENS']);
    const sixDeep = await post(`{ articles(filter: ${'{ NOT: '.repeat(6)}{}${' }'.repeat(6)}) { totalCount } }`);
    expect(codes(sixDeep)).toEqual(['BAD_USER_INPUT']);
  });

  it('is refused at any depth, in any request parameter, in production and cached too, never recursing past the stack', async () => {
    // a list 5,000 deep overflowed wherever a plugin turned a parameter into text before it was
    // checked (the response cache's key, production's record of what the request wrote, the
    // metrics' operation label): a 500
    const production = createServer({ ...config(), production: true });
    const cached = createServer({
      ...config(),
      responseCache: { ...config().responseCache, store: 'memory', ttlMs: 60_000 },
    });
    const nest = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    for (const depth of [5_000, 100_000]) {
      // written by hand: JSON.stringify overflows here too
      const bodies: [string, string, string][] = [
        [
          `{"query":"{ __typename }","variables":{"a":${nest(depth)}}}`,
          'BAD_USER_INPUT',
          'Variables are nested deeper than 64 levels',
        ],
        [
          `{"query":"{ __typename }","operationName":${nest(depth)}}`,
          'BAD_REQUEST',
          'Expected "operationName" param to be a string, but given array.',
        ],
        [`{"query":${nest(depth)}}`, 'BAD_REQUEST', 'Expected "query" param to be a string, but given array.'],
        [
          `{"query":"{ __typename }","extensions":${nest(depth)}}`,
          'BAD_REQUEST',
          'Expected "extensions" param to be empty or an object, but given array.',
        ],
      ];
      for (const [body, code, message] of bodies) {
        for (const [name, server] of [
          ['development', yoga],
          ['production', production],
          ['cached', cached],
        ] as const) {
          for (const accept of ['application/graphql-response+json', 'text/event-stream']) {
            const response = await server.fetch('http://newsgraph.test/graphql', {
              method: 'POST',
              headers: { 'content-type': 'application/json', accept },
              body,
            });
            const where = `${name} ${accept} ${depth} ${body.slice(0, 40)}`;
            expect(response.status, where).toBe(400);
            const text = await response.text();
            expect(text, where).toContain(JSON.stringify(message));
            expect(text, where).toContain(`"code":"${code}"`);
          }
        }
      }
    }
    // a parameter of the wrong type but shallow: the same words
    const shallow = await yoga.fetch('http://newsgraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ __typename }', operationName: 7 }),
    });
    expect(shallow.status).toBe(400);
    expect(((await shallow.json()) as Answer).errors?.[0]?.message).toBe(
      'Expected "operationName" param to be a string, but given number.',
    );
    await production.dispose();
    await cached.dispose();
  });

  it('a literal nested too deeply to parse is a parse error (400), also with the token limit raised', async () => {
    const settings = config();
    const roomy = createServer({ ...settings, limits: { ...settings.limits, maxTokens: 1_000_000 } });
    for (const depth of [20_000, 100_000]) {
      const query = `{ articles(filter: ${'{ NOT: '.repeat(depth)}{}${' }'.repeat(depth)}) { totalCount } }`;
      const response = await roomy.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query }),
      });
      expect(response.status, String(depth)).toBe(400);
      expect(((await response.json()) as Answer).errors?.[0]).toMatchObject({
        message: expect.stringContaining('nested too deeply'),
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      });
    }
  });

  it('a "__proto__" key is an unknown field, refused, never applied, whether or not a string beside it is put in NFC', async () => {
    for (const source of ['x', 'e\u0301']) {
      // JSON.parse makes "__proto__" an own key, as a request body does
      const f = JSON.parse(`{"__proto__": {"priority": {"gte": 5}}, "source": {"in": ["ABC News", "${source}"]}}`);
      const answer = await post('query($f: ArticleFilter) { articles(filter: $f) { totalCount } }', { f });
      expect(answer.status, source).toBe(400);
      expect(codes(answer), source).toEqual(['BAD_USER_INPUT']);
      expect(JSON.stringify(answer), source).toContain('__proto__');
    }
  });
});

describe('request bodies that are not UTF-8', () => {
  it('are refused with 400, not stored with replacement characters', async () => {
    const before = await snapshot();
    for (const bytes of [
      [0xed, 0xa0, 0x80],
      [0xff, 0xfe],
      [0xc0, 0x80],
    ]) {
      const body = Buffer.concat([
        Buffer.from(
          '{"query":"mutation($n: String!) { createAuthor(input: { name: $n }) { __typename } }","variables":{"n":"Raw',
        ),
        Buffer.from(bytes),
        Buffer.from('Bytes"}}'),
      ]);
      const response = await yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...as.editor },
        body,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as Answer).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('filter strings in another Unicode normalization form', () => {
  it('find what was stored in NFC, as every text is', async () => {
    const filed = await file({
      title: 'Cre\u0300me bru\u0302le\u0301e at the harbour',
      source: 'E\u0301ditions Montre\u0301al',
      body: 'A crème brûlée stall opened.',
    });
    const id = filed.data.createArticle.article.id;
    const ids = async (filter: object) =>
      (
        await post('query($f: ArticleFilter) { articles(filter: $f) { edges { node { id } } } }', { f: filter })
      ).data.articles.edges.map((edge: { node: { id: string } }) => edge.node.id);
    for (const filter of [
      { title: { contains: 'Cre\u0300me bru\u0302le\u0301e' } },
      { title: { startsWith: 'Cr\u00e8me' } },
      { source: { equals: 'E\u0301ditions Montre\u0301al' } },
      { source: { in: ['\u00c9ditions Montr\u00e9al'] } },
      { text: 'bru\u0302le\u0301e' },
    ]) {
      expect(await ids(filter), JSON.stringify(filter)).toEqual([id]);
    }
  });
});

describe('query strings that are not UTF-8 once percent-decoded', () => {
  it('are refused with 400 on every path, where URLSearchParams would read them as U+FFFD', async () => {
    const variables = (s: string) => `variables=%7B%22s%22%3A%22${s}%22%7D`;
    const search = 'query=query(%24s%3AString!)%7Barticles(search%3A%24s)%7BtotalCount%7D%7D';
    for (const bad of ['%FF', '%ED%A0%80', '%E2%82', '%C0%80']) {
      for (const [path, headers] of [
        [`/graphql?${search}&${variables(bad)}`, {}],
        [`/export.ndjson?search=${bad}`, as.editor],
        [`/healthz?x=${bad}`, {}],
        [`/metrics?x=${bad}`, {}],
      ] as const) {
        const response = await yoga.fetch(`http://newsgraph.test${path}`, {
          headers: { accept: 'application/json', ...headers },
        });
        expect(response.status, path).toBe(400);
        expect(await response.json(), path).toEqual({
          errors: [
            { message: 'The query string is not UTF-8 once percent-decoded', extensions: { code: 'BAD_REQUEST' } },
          ],
        });
      }
    }
    // well-formed UTF-8, and a % that is no escape (kept as it is, as the URL standard reads it)
    for (const good of ['%E2%82%AC', '%F0%9F%9A%80', '100%25', '%ZZ']) {
      const response = await yoga.fetch(`http://newsgraph.test/graphql?${search}&${variables(good)}`, {
        headers: { accept: 'application/json' },
      });
      expect(response.status, good).toBe(200);
    }
  });
});

describe('IDs of types that cannot be fetched', () => {
  it('are INVALID_ID for that ID alone', async () => {
    const filed = await file();
    const id = filed.data.createArticle.article.id;
    for (const typename of ['ApiKey', 'Foo', 'ArticleAuthor']) {
      const one = await post(`{ node(id: "${globalId(typename, 1)}") { id } }`);
      expect(codes(one), typename).toEqual(['INVALID_ID']);
    }
    const many = await post(
      `{ nodes(ids: ["${id}", "${globalId('Foo', 1)}", "${globalId('Author', 999999)}"]) { id } }`,
    );
    expect(many.data).toEqual({ nodes: [{ id }, null, null] });
    expect(many.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['nodes', 1], 'INVALID_ID']]);
    // malformed IDs too: the other IDs and fields are still answered
    const malformed = await post(
      `{ nodes(ids: ["${id}", "!!!", "${globalId('Article', 0)}", "${globalId('Article', 2 ** 31)}"]) { id } viewer { anonymous } }`,
    );
    expect(malformed.data).toEqual({ nodes: [{ id }, null, null, null], viewer: { anonymous: true } });
    expect(malformed.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
      [['nodes', 1], 'INVALID_ID'],
      [['nodes', 2], 'INVALID_ID'],
      [['nodes', 3], 'INVALID_ID'],
    ]);
    const typed = await post(`{ author(id: "${id}") { name } }`);
    expect(typed.errors?.map((error) => [error.message, error.extensions?.code])).toEqual([
      ['Not a valid ID of type Author', 'INVALID_ID'],
    ]);
  });
});

describe('links that are not safe to show', () => {
  it('are refused as INVALID_URL, and refused as lookups', async () => {
    for (const url of [
      'https://news.example/a\nSet-Cookie: x=1',
      'https://news.example/a\tb',
      'https:\\\\news.example\\story',
      'https://user:secret@news.example/story',
      'https://admin@news.example/story',
      'https://news.example/a\u200bb',
      'javascript:alert(1)',
      'ftp://news.example/file',
    ]) {
      const answer = await file({ url });
      expect(answer.data.createArticle.fields, url).toEqual([
        expect.objectContaining({ path: ['input', 'url'], code: 'INVALID_URL' }),
      ]);
      const lookup = await post('query($u: String!) { article(url: $u) { id } }', { u: url });
      expect(codes(lookup), url).toEqual(['BAD_USER_INPUT']);
    }
    for (const url of ['https://@news.example/story', 'https://news.example:0/story']) {
      expect((await file({ url })).data.createArticle.fields, url).toEqual([
        expect.objectContaining({ path: ['input', 'url'], code: 'INVALID_URL' }),
      ]);
    }
    const fine = await file({ url: 'https://news.example/ok?q=a%20b#top' });
    expect(fine.data.createArticle.__typename).toBe('CreateArticleSuccess');
  });

  it('are stored the way a browser reads them', async () => {
    const URL_OF = 'query($id: ID!) { node(id: $id) { ... on Article { url } } }';
    for (const [given, stored] of [
      ['https:news.example/browser-1', 'https://news.example/browser-1'],
      ['HTTPS:///News.Example/browser-2', 'https://news.example/browser-2'],
      ['https://news.example/a"onmouseover="x', 'https://news.example/a%22onmouseover=%22x'],
      ['https://аррӏе.example/browser-4', 'https://xn--80ak6aa92e.example/browser-4'],
    ]) {
      const answer = await file({ url: given });
      const id = answer.data.createArticle.article.id;
      expect((await post(URL_OF, { id })).data.node.url, given).toBe(stored);
    }
  });
});
