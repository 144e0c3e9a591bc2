import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config.ts';
import { onStatement, prisma } from '../../src/db/client.ts';
import { currentScope } from '../../src/requestScope.ts';
import { createApiKey } from '../../src/resolvers/access/apiKeys.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { WORK_COSTS } from '../../src/resolvers/lists/work.ts';
import { MAX_RESPONSE_TEXT } from '../../src/schema/article.ts';
import { MAX_HIGHLIGHT_SETTINGS } from '../../src/resolvers/articles/highlights.ts';
import { ARTICLE_FILTER, articleCondition, filterCost, MAX_SEARCH_WORDS } from '../../src/resolvers/lists/filter.ts';
import { tableScope, toSql } from '../../src/resolvers/lists/sqlWhere.ts';
import { createServer } from '../../src/yoga.ts';
import { recordStatements } from '../support/api.ts';
import { globalId } from '../support/demo.ts';

/**
 * No single request takes more than a fair share (issue 12): the cost model prices database
 * work, `nodes` is capped like a page, the `text` filter is served by trigram indexes, a page of
 * highlights is one statement; and refusals carry the right HTTP status and no suggestions in
 * production.
 */

const ENDPOINT = 'http://newsgraph.test/graphql';
const yoga = createServer();

interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function post(query: string, variables?: object, server = yoga, headers: Record<string, string> = {}) {
  const response = await server.fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Body;
  return { status: response.status, body, codes: (body.errors ?? []).map((error) => error.extensions?.code) };
}

let ids: number[] = [];

beforeAll(async () => {
  const words = 'budget election climate harbour rainfall tariff'.split(' ');
  for (let n = 0; n < 12; n++) {
    const article = await prisma.article.create({
      data: {
        title: `Fair share ${n} ${words[n % words.length]}`,
        url: `https://fair.example/${n}`,
        urlKey: `https://fair.example/${n}`,
        source: 'Fair Wire',
        publishedAt: new Date(Date.UTC(2026, 0, 1 + n)),
        priority: 3,
        body:
          `The ${words[n % words.length]} report ${n}. `.repeat(40) + (n === 3 ? 'Contains zebracrossing once.' : ''),
      },
    });
    ids.push(article.id);
  }
});

describe('the cost model prices database work', () => {
  it('prices text conditions and OR fan-out by what they hold', () => {
    expect(filterCost(ARTICLE_FILTER, { text: 'zebra' })).toBe(WORK_COSTS.text);
    expect(filterCost(ARTICLE_FILTER, { OR: Array.from({ length: 5 }, (_, n) => ({ text: `needle${n}` })) })).toBe(
      5 * WORK_COSTS.text,
    );
    expect(filterCost(ARTICLE_FILTER, { title: { contains: 'abc', startsWith: 'x' } })).toBe(2 * WORK_COSTS.pattern);
    expect(filterCost(ARTICLE_FILTER, { priority: { gte: 3 }, isAustralian: true })).toBe(2 * WORK_COSTS.condition);
    expect(filterCost(ARTICLE_FILTER, { NOT: { authors: { some: { name: { contains: 'x' } } } } })).toBe(
      WORK_COSTS.relation + WORK_COSTS.pattern,
    );
  });

  it('refuses OR of 99 text conditions with HTTP 400, its cost and the limit, before any SQL', async () => {
    const or = Array.from({ length: 99 }, (_, n) => `{ text: "nomatch${n}" }`).join(', ');
    const { statements, result } = await recordStatements(() =>
      post(`{ articles(filter: { OR: [${or}] }) { totalCount } }`),
    );
    expect(result.status).toBe(400);
    expect(result.codes).toEqual(['QUERY_TOO_COSTLY']);
    const extensions = result.body.errors![0]!.extensions!;
    expect(extensions.limit).toBe(config().limits.maxCost);
    expect(extensions.cost).toBeGreaterThan(config().limits.maxCost);
    // counting stopped past twice the limit: the message and costIsExact say it is a lower bound
    expect(extensions.costIsExact).toBe(false);
    expect(result.body.errors![0]!.message).toMatch(new RegExp(`^Query costs at least ${extensions.cost as number},`));
    expect(result.body.data).toBeUndefined();
    expect(statements).toEqual([]);
    // the same fan-out through variables
    const viaVariables = await post(`query ($f: ArticleFilter) { articles(filter: $f) { totalCount } }`, {
      f: { OR: Array.from({ length: 99 }, (_, n) => ({ text: `nomatch${n}` })) },
    });
    expect(viaVariables.codes).toEqual(['QUERY_TOO_COSTLY']);
    // a few text conditions are an ordinary query
    const few = await post(
      `{ articles(filter: { OR: [{ text: "zebracrossing" }, { text: "nothing here" }] }) { totalCount } }`,
    );
    expect(few.body).toEqual({ data: { articles: { totalCount: 1 } } });
  });

  it('answers TOO_MANY_TOKENS with HTTP 400 and the limit', async () => {
    const result = await post(`{ articles { edges { node { ${'title '.repeat(3000)} } } } }`);
    expect(result.status).toBe(400);
    expect(result.codes).toEqual(['TOO_MANY_TOKENS']);
    expect(result.body.errors![0]!.extensions!.limit).toBe(config().limits.maxTokens);
  });
});

describe('filter size', () => {
  it('refuses more than 10 authors/topics quantifiers in one filter, before any SQL', async () => {
    const quantifiers = (n: number) =>
      Array.from({ length: n }, (_, i) => (i % 2 ? '{ authors: { some: {} } }' : '{ topics: { none: {} } }')).join(' ');
    const ten = await post(`{ articles(first: 1, filter: { AND: [${quantifiers(10)}] }) { totalCount } }`);
    expect(ten.body.errors).toBeUndefined();
    for (const field of ['articles', 'articleFacets']) {
      const selection = field === 'articles' ? '{ totalCount }' : '{ total }';
      const { statements, result } = await recordStatements(() =>
        post(`{ ${field}(filter: { AND: [${quantifiers(11)}] }) ${selection} }`),
      );
      expect(result.codes, field).toEqual(['BAD_USER_INPUT']);
      expect(result.body.errors![0]!.message).toMatch(/more than 10 authors\/topics conditions/);
      expect(statements, field).toEqual([]);
    }
  });

  it('refuses more than 500 filter objects, empty ones and AND items included, as cheap to price as to refuse', async () => {
    // 6 x 90 empty objects: no condition at all, but every one is read
    const filter = { AND: Array.from({ length: 6 }, () => ({ AND: Array.from({ length: 90 }, () => ({})) })) };
    expect(filterCost(ARTICLE_FILTER, filter)).toBe(0);
    const { statements, result } = await recordStatements(() =>
      post(`query ($f: ArticleFilter) { articles(filter: $f) { totalCount } }`, { f: filter }),
    );
    expect(result.codes).toEqual(['BAD_USER_INPUT']);
    expect(result.body.errors![0]!.message).toMatch(/more than 500 filter objects/);
    expect(statements).toEqual([]);
  });

  it('refuses variables of more than 10,000 values, and arguments that repeat a variable past 20,000', async () => {
    // a wide list of empty objects: graphql-js would coerce each before the filter's own limits
    const wide = { OR: Array.from({ length: 10_001 }, () => ({})) };
    const tooWide = await recordStatements(() =>
      post(`query ($f: ArticleFilter) { articles(filter: $f) { totalCount } }`, { f: wide }),
    );
    expect(tooWide.result.status).toBe(400);
    expect(tooWide.result.codes).toEqual(['BAD_USER_INPUT']);
    expect(tooWide.result.body.errors![0]!.extensions!.limit).toBe(10_000);
    expect(tooWide.statements).toEqual([]);
    const big = { AND: Array.from({ length: 11 }, () => ({ AND: Array.from({ length: 1000 }, () => ({})) })) };
    const tooBig = await post(`query ($f: ArticleFilter) { articles(filter: $f) { totalCount } }`, { f: big });
    expect(tooBig.status).toBe(400);
    expect(tooBig.codes).toEqual(['BAD_USER_INPUT']);
    expect(tooBig.body.errors![0]!.extensions!.limit).toBe(10_000);
    // about 3,000 values, used 10 times inside one argument: 30,000 values to walk
    const part = { AND: Array.from({ length: 10 }, () => ({ AND: Array.from({ length: 300 }, () => ({})) })) };
    const repeated = await recordStatements(() =>
      post(`query ($f: ArticleFilter!) { articles(filter: { AND: [${'$f '.repeat(10)}] }) { totalCount } }`, {
        f: part,
      }),
    );
    expect(repeated.result.status).toBe(400);
    expect(repeated.result.codes).toEqual(['BAD_USER_INPUT']);
    expect(repeated.result.body.errors![0]!.extensions!.limit).toBe(20_000);
    expect(repeated.statements).toEqual([]);
  });
});

describe('refusals of the whole request', () => {
  const deep = `{ ${'articles { edges { node { topics { '.repeat(3)}id${' } } } }'.repeat(3)} }`;
  const aliases = `{ ${Array.from({ length: 31 }, (_, n) => `a${n}: articles(first: 1) { totalCount }`).join(' ')} }`;
  const directives = `{ articles(first: 1) { totalCount ${'@include(if: true) '.repeat(11)} } }`;
  it.each([
    ['QUERY_TOO_DEEP', deep],
    ['TOO_MANY_ALIASES', aliases],
    ['TOO_MANY_DIRECTIVES', directives],
  ])('%s answers HTTP 400 without data under either Accept header', async (code, query) => {
    for (const accept of ['application/graphql-response+json', 'application/json']) {
      const answer = await post(query, undefined, yoga, { accept });
      expect(answer.status, accept).toBe(400);
      expect(answer.codes, accept).toContain(code);
      expect(answer.body.data, accept).toBeUndefined();
    }
  });
});

describe('nodes(ids:)', () => {
  it('takes at most 100 IDs: more are INVALID_PAGE_SIZE before any SQL', async () => {
    const hundred = Array.from({ length: 100 }, (_, n) => globalId('Article', ids[n % ids.length]!));
    const ok = await post(`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: hundred });
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data!.nodes).toHaveLength(100);
    for (const count of [101, 9_000]) {
      const many = Array.from({ length: count }, () => globalId('Article', ids[0]!));
      const { statements, result } = await recordStatements(() =>
        post(`query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Article { body } } }`, { ids: many }),
      );
      expect(result.codes, String(count)).toEqual(['INVALID_PAGE_SIZE']);
      expect(result.body.errors![0]!.extensions).toMatchObject({ argumentName: 'ids', max: 100 });
      expect(statements).toEqual([]);
    }
    // past the input limits (10,000 values), refused by them before nodes reads its argument
    const flood = Array.from({ length: 49_000 }, () => globalId('Article', ids[0]!));
    const refused = await post(`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: flood });
    expect(refused.status).toBe(400);
    expect(refused.codes).toEqual(['BAD_USER_INPUT']);
    expect(refused.body.errors![0]!.extensions!.limit).toBe(10_000);
  });
});

describe('article text per response', () => {
  it(`stops at ${MAX_RESPONSE_TEXT.toLocaleString('en')} characters: aliases repeating long bodies get RESPONSE_TOO_LARGE`, async () => {
    const long = await prisma.article.create({
      data: {
        title: 'Very long body',
        url: 'https://fair.example/long',
        urlKey: 'https://fair.example/long',
        source: 'Fair Wire',
        publishedAt: new Date(Date.UTC(2025, 0, 1)),
        priority: 1,
        body: 'word '.repeat(400_000), // 2,000,000 characters
      },
    });
    const id = globalId('Article', long.id);
    const one = await post(`query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Article { body } } }`, { ids: [id] });
    expect(one.body.errors).toBeUndefined();
    // 5 aliases of 100 times the same 2 MB body: 1 GB of text, were it built
    const aliases = Array.from({ length: 5 }, (_, n) => `a${n}: nodes(ids: $ids) { ... on Article { body } }`).join(
      ' ',
    );
    const started = performance.now();
    const many = await post(`query ($ids: [ID!]!) { ${aliases} }`, { ids: Array.from({ length: 100 }, () => id) });
    expect(many.codes).toContain('RESPONSE_TOO_LARGE');
    expect(JSON.stringify(many.body).length).toBeLessThan(MAX_RESPONSE_TEXT + 1_000_000);
    expect(performance.now() - started).toBeLessThan(20_000);
    await prisma.article.delete({ where: { id: long.id } });
  });
});

describe('the text filter', () => {
  it('needs 3 letters or digits in a row, and points to search for short words', async () => {
    for (const needle of ['ab', '%', 'a b c', '..']) {
      const result = await post(`query ($t: String) { articles(filter: { text: $t }) { totalCount } }`, { t: needle });
      expect(result.codes, needle).toEqual(['BAD_USER_INPUT']);
      expect(result.body.errors![0]!.message).toMatch(/search/);
    }
    // through the facets too (the SQL compilation)
    const facets = await post(`{ articleFacets(filter: { text: "ab" }) { total } }`);
    expect(facets.codes).toEqual(['BAD_USER_INPUT']);
    const found = await post(`{ articles(filter: { text: "ZEBRACROSSING" }) { edges { node { title } } } }`);
    expect(found.body.data).toEqual({ articles: { edges: [{ node: { title: 'Fair share 3 harbour' } }] } });
    // an empty or blank text is no condition, as before
    expect((await post(`{ articles(filter: { text: "  " }) { totalCount } }`)).body.data).toEqual({
      articles: { totalCount: 12 },
    });
  });

  it('is served by the trigram indexes of title, description, summary and body', async () => {
    // the planner takes the indexes when scanning is costly; here scanning is ruled out to see
    // that each of the four conditions can be answered by an index
    const plan = await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
      const rows = await tx.$queryRaw<{ 'QUERY PLAN': string }[]>(
        Prisma.sql`EXPLAIN SELECT a."id" FROM "Article" a WHERE ${toSql(articleCondition({ text: 'zebracrossing' }), tableScope('a'))}`,
      );
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    for (const index of ['title', 'description', 'summary', 'body']) {
      expect(plan).toContain(`Article_${index}_trgm_idx`);
    }
    expect(plan).not.toMatch(/Seq Scan/);
  });
});

describe('search words', () => {
  it(`are at most ${MAX_SEARCH_WORDS} (or and - not counted): more is BAD_USER_INPUT before any SQL`, async () => {
    const words = Array.from({ length: MAX_SEARCH_WORDS }, (_, n) => `word${n}`);
    const most = await post(`query ($s: String!) { articles(search: $s) { totalCount } }`, {
      // a word to find besides the exclusion: an `or` with an excluding branch only excludes
      s: `"${words.slice(0, 5).join(' ')}" -${words[5]} ${words.slice(6).join(' or ')}`,
    });
    expect(most.body.errors).toBeUndefined();
    for (const [field, args] of [
      ['articles', 'search: $s'],
      ['articleFacets', 'search: $s'],
      ['authors', 'filter: { nameSearch: $s }'],
    ]) {
      const { statements, result } = await recordStatements(() =>
        post(`query ($s: String!) { ${field}(${args}) { __typename } }`, { s: [...words, 'eleven'].join(' ') }),
      );
      expect(result.codes, field).toEqual(['BAD_USER_INPUT']);
      expect(statements, field).toEqual([]);
    }
  });
});

describe('highlights', () => {
  const page = (aliases: string) => `{ articles(first: 100, search: "report") { edges { node { id } ${aliases} } } }`;

  it('are one statement per page however many aliases ask, each with its own markers', async () => {
    const aliases = Array.from(
      { length: 10 },
      (_, n) => `h${n}: highlight(field: BODY, startMarker: "<${n}>", stopMarker: "</${n}>")`,
    ).join(' ');
    const { statements, result } = await recordStatements(() => post(page(aliases)));
    expect(result.body.errors).toBeUndefined();
    const edges = (result.body.data!.articles as { edges: Record<string, string>[] }).edges;
    expect(edges).toHaveLength(12);
    for (const edge of edges) {
      for (let n = 0; n < 10; n++) expect(edge[`h${n}`]).toContain(`<${n}>report</${n}>`);
    }
    expect(statements.filter((sql) => /ts_headline/.test(sql))).toHaveLength(1);
  });

  it(`allow ${MAX_HIGHLIGHT_SETTINGS} different settings per request, and refuse more with BAD_USER_INPUT`, async () => {
    const settings = (count: number) =>
      Array.from({ length: count }, (_, n) => `h${n}: highlight(field: BODY, maxWords: ${10 + n})`).join(' ');
    const { statements, result } = await recordStatements(() => post(page(settings(MAX_HIGHLIGHT_SETTINGS))));
    expect(result.body.errors).toBeUndefined();
    expect(statements.filter((sql) => /ts_headline/.test(sql))).toHaveLength(1);
    const tooMany = await post(page(settings(MAX_HIGHLIGHT_SETTINGS + 1)));
    expect(new Set(tooMany.codes)).toEqual(new Set(['BAD_USER_INPUT']));
  });
});

describe('production', () => {
  const production = createServer({ ...config(), production: true, graphiql: false, introspection: false });

  it.each([
    [
      'a misspelt input field in variables',
      `query ($f: ArticleFilter) { articles(filter: $f) { totalCount } }`,
      { f: { priorty: { gte: 1 } } },
    ],
    [
      'a misspelt enum value in variables',
      `query ($o: [ArticleOrder!]) { articles(orderBy: $o) { totalCount } }`,
      { o: [{ field: 'PUBLISHD_AT' }] },
    ],
    ['a misspelt enum value in the query', `{ articles(orderBy: [{ field: PUBLISHD_AT }]) { totalCount } }`, undefined],
    ['a misspelt input field in the query', `{ articles(filter: { priorty: { gte: 1 } }) { totalCount } }`, undefined],
    ['a misspelt argument', `{ articles(frist: 1) { totalCount } }`, undefined],
    ['a misspelt field', `{ articlez { totalCount } }`, undefined],
    ['a misspelt type in a variable', `query ($f: ArticleFiltr) { articles(filter: $f) { totalCount } }`, { f: {} }],
  ])('gives no suggestion for %s', async (_what, query, variables) => {
    const development = await post(query, variables);
    expect(JSON.stringify(development.body), 'the development server suggests').toMatch(/Did you mean/);
    const result = await post(query, variables, production);
    expect(result.status).toBe(400);
    expect(result.body.errors!.length).toBeGreaterThan(0);
    expect(JSON.stringify(result.body)).not.toMatch(
      /Did you mean|priority"|PUBLISHED_AT|"first"|"articles"|ArticleFilter"/,
    );
  });

  it.each([
    [
      'required input fields left out',
      `mutation { createArticle(input: {}) { __typename } }`,
      undefined,
      /priority|publishedAt|CreateArticleInput|Int!/,
    ],
    [
      'required input fields left out of variables',
      `mutation ($i: UpdateArticleInput!) { updateArticle(input: $i) { __typename } }`,
      { i: {} },
      /expectedVersion|"id"/,
    ],
    [
      'a required argument left out',
      `mutation { createArticle { __typename } }`,
      undefined,
      /"input"|CreateArticleInput/,
    ],
    ['a field without its selection', `{ articles }`, undefined, /ArticleConnection/],
    [
      'a variable of the wrong type',
      `query ($v: Boolean) { articles(filter: { priority: { gte: $v } }) { totalCount } }`,
      { v: true },
      /expecting type \\"Int/,
    ],
  ])('names no schema member the request did not write: %s', async (_what, query, variables, leak) => {
    const development = await post(query, variables);
    expect(JSON.stringify(development.body), 'the development server names it').toMatch(leak);
    const result = await post(query, variables, production);
    expect(result.status).toBe(400);
    expect(result.body.errors!.length).toBeGreaterThan(0);
    expect(JSON.stringify(result.body)).not.toMatch(leak);
  });

  it('keeps the messages that name only what the request wrote, and its own', async () => {
    const misspelt = await post(`{ articles(first: 101) { totalCount } }`, undefined, production);
    expect(misspelt.codes).toEqual(['INVALID_PAGE_SIZE']);
    expect(misspelt.body.errors![0]!.message).toMatch(/"first" must be between 0 and 100/);
    const text = await post(`{ articles(filter: { text: "ab" }) { totalCount } }`, undefined, production);
    expect(text.body.errors![0]!.message).toMatch(/use "search" for short words/);
  });
});

describe('HTTP', () => {
  it('sends Vary: Origin whenever CORS answers depend on the origin', async () => {
    const server = createServer({ ...config(), corsOrigins: ['https://app.example', 'https://admin.example'] });
    for (const origin of ['https://app.example', 'https://evil.example', undefined]) {
      const response = await server.fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: JSON.stringify({ query: '{ viewer { anonymous } }' }),
      });
      expect(response.headers.get('vary'), String(origin)).toMatch(/\bOrigin\b/);
      expect(response.headers.get('access-control-allow-origin')).toBe(
        origin === 'https://app.example' ? origin : null,
      );
    }
    const preflight = await server.fetch(ENDPOINT, {
      method: 'OPTIONS',
      headers: { origin: 'https://admin.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://admin.example');
  });

  it('answers GET / with where things are', async () => {
    const json = await yoga.fetch('http://newsgraph.test/');
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({
      graphql: '/graphql',
      graphiql: '/graphql',
      health: '/healthz',
      readiness: '/readyz',
      metrics: '/metrics',
    });
    const page = await yoga.fetch('http://newsgraph.test/', { headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    for (const link of ['href="/graphql"', 'href="/healthz"', 'href="/readyz"']) expect(html).toContain(link);
  });
});

describe('who asked, for fair turns at the database', () => {
  it("names the key's client in the scope of every statement of a query and of an import", async () => {
    const { secret } = await createApiKey(prisma, 'turns-editor', 'EDITOR');
    const headers = { authorization: `Bearer ${secret}` };
    const clients = new Set<string>();
    const stop = onStatement(() => {
      const client = currentScope()?.client;
      if (client) clients.add(client);
    });
    try {
      const read = await post('{ articles(first: 2) { totalCount edges { node { id } } } }', undefined, yoga, headers);
      expect(read.body.errors).toBeUndefined();
      const record = {
        title: 'Turns',
        url: 'https://turns.example/1',
        source: 'Turns',
        publishedAt: '2026-01-01T00:00:00Z',
        priority: 1,
      };
      const imported = await yoga.fetch('http://newsgraph.test/import.ndjson', {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...headers },
        body: `${JSON.stringify(record)}\n`,
      });
      expect(await imported.text()).toMatch(/"status":"created"/);
    } finally {
      stop();
    }
    expect([...clients]).toEqual([`key:${secret}`]);
  });
});
