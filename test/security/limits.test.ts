import { getIntrospectionQuery } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config.ts';
import { prisma } from '../../src/db/client.ts';
import { createServer } from '../../src/yoga.ts';
import { recordStatements } from '../support/api.ts';
import { snapshot } from '../support/keys.ts';

/**
 * Hostile queries are refused before execution, with a code, and without a single SQL
 * statement sent. Each test sends the concrete payload.
 */

const yoga = createServer();

async function post(query: string, variables?: object) {
  const { statements, result } = await recordStatements(async () => {
    const response = await yoga.fetch('http://newsgraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: response.status,
      body: (await response.json()) as {
        data?: unknown;
        errors?: { message: string; extensions?: { code?: string } }[];
      },
    };
  });
  return { ...result, statements, codes: (result.body.errors ?? []).map((e) => e.extensions?.code) };
}

beforeAll(async () => {
  await prisma.topic.create({ data: { name: 'Seeded', slug: 'seeded' } });
});

describe('query limits', () => {
  it('refuses alias overloading (31 aliases) before execution', async () => {
    const fields = Array.from({ length: 31 }, (_, i) => `a${i}: topics(first: 1) { totalCount }`).join(' ');
    const result = await post(`{ ${fields} }`);
    expect(result.codes).toEqual(['TOO_MANY_ALIASES']);
    expect(result.statements).toEqual([]);
    const fine = await post(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: viewer { anonymous }`).join(' ')} }`);
    expect(fine.body.errors).toBeUndefined();
  });

  it('refuses field duplication past the token limit', async () => {
    const result = await post(`{ topics { edges { node { ${'name '.repeat(3000)} } } } }`);
    expect(result.codes).toEqual(['TOO_MANY_TOKENS']);
    expect(result.statements).toEqual([]);
  });

  it('refuses nesting deeper than 10 levels, and accepts 10', async () => {
    const prefix =
      '{ authors(first: 1) { edges { node { articles(first: 1) { edges { node { topics { articles(first: 1) {';
    // levels: authors 1, edges 2, node 3, articles 4, edges 5, node 6, topics 7, articles 8, ...
    const ten = await post(`${prefix} pageInfo { hasNextPage } } } } } } } } } }`);
    expect(ten.body.errors).toBeUndefined();
    const eleven = await post(`${prefix} edges { node { title } } } } } } } } } } }`);
    expect(eleven.codes).toEqual(['QUERY_TOO_DEEP']);
    expect(eleven.statements).toEqual([]);
  });

  it('refuses circular fragments', async () => {
    const result = await post(`
      query { articles { edges { node { ...A } } } }
      fragment A on Article { authors { ...B } }
      fragment B on Author { articles { edges { node { ...A } } } }`);
    expect(result.codes).toContain('GRAPHQL_VALIDATION_FAILED');
    expect(result.body.errors!.some((e) => /cannot spread fragment "A" within itself/i.test(e.message))).toBe(true);
    expect(result.statements).toEqual([]);
  });

  it('refuses directive overloading', async () => {
    const fields = Array.from({ length: 11 }, (_, i) => `f${i}: viewer @include(if: true) { anonymous }`).join(' ');
    const result = await post(`{ ${fields} }`);
    expect(result.codes).toEqual(['TOO_MANY_DIRECTIVES']);
    expect(result.statements).toEqual([]);
  });

  it('counts directives on fragment spreads and inline fragments, and each field as often as its fragment is spread', async () => {
    const spreads = Array.from({ length: 11 }, () => '...V @include(if: true)').join(' ');
    const onSpreads = await post(`{ ${spreads} } fragment V on Query { viewer { anonymous } }`);
    expect(onSpreads.codes).toEqual(['TOO_MANY_DIRECTIVES']);
    const inline = Array.from({ length: 11 }, () => '... @skip(if: false) { viewer { anonymous } }').join(' ');
    expect((await post(`{ ${inline} }`)).codes).toEqual(['TOO_MANY_DIRECTIVES']);
    // 4 aliases in a fragment spread 8 times (through 3 chained fragments, each spreading the next twice): 32
    const chained = `{ ...A }
      fragment A on Query { ...B ...B } fragment B on Query { ...C ...C } fragment C on Query { ...D ...D }
      fragment D on Query { a: viewer { anonymous } b: viewer { anonymous } c: viewer { anonymous } d: viewer { anonymous } }`;
    expect((await post(chained)).codes).toEqual(['TOO_MANY_ALIASES']);
    expect((await post(chained.replace(' d: viewer { anonymous }', ''))).body.errors).toBeUndefined();
  });

  it("answers a tool's full introspection, and refuses introspection multiplied by aliases or repeated past a third of the cost each", async () => {
    const full = getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true });
    expect((await post(full)).body.errors).toBeUndefined();
    // 8 aliases at each of 4 levels through fragments: 45 MB and seconds of the process
    const al = (n: number, field: string, fragment: string) =>
      Array.from({ length: n }, (_, i) => `${field[0]}${i}: ${field} { ...${fragment} }`).join(' ');
    const multiplied = `{ ${al(8, '__schema', 'S')} }
      fragment S on __Schema { ${al(8, 'types', 'T')} }
      fragment T on __Type { name ${al(8, 'fields', 'F')} }
      fragment F on __Field { name ${al(8, 'args', 'A')} }
      fragment A on __InputValue { name type { name kind } }`;
    for (const query of [
      multiplied,
      '{ __schema { a: types { name } } }',
      '{ __type(name: "Query") { f: fields { name } } }',
    ]) {
      const refused = await post(query);
      expect(refused.codes, query).toEqual(['TOO_MANY_ALIASES']);
      expect(refused.statements).toEqual([]);
    }
    const fragments = full.slice(full.indexOf('fragment FullType'));
    const schemas = (n: number) =>
      `query { ${Array.from({ length: n }, (_, i) => `s${i}: __schema { types { ...FullType } }`).join(' ')} } ${fragments}`;
    expect((await post(schemas(3))).body.errors).toBeUndefined();
    expect((await post(schemas(4))).codes).toEqual(['QUERY_TOO_COSTLY']);
    // no aliases inside: a type's lists repeated at each level of every type reference (`W`), as
    // a full introspection lists them once per type; one such __schema answers 810 KB (4.5 full
    // introspections), and 27 __type roots with them 3 MB with the three. Each costs what it answers.
    const typeLists = (ref: string) =>
      `fields(includeDeprecated: true) { name args(includeDeprecated: true) { name type { ...${ref} } } type { ...${ref} } }
      inputFields(includeDeprecated: true) { name type { ...${ref} } } interfaces { ...${ref} } possibleTypes { ...${ref} }
      enumValues(includeDeprecated: true) { name }`;
    const wrapped = `fragment R on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
      fragment L2 on __Type { kind name ${typeLists('R')} }
      fragment W on __Type { ...L2 ofType { ...L2 ofType { ...L2 ofType { ...L2 } } } }
      fragment L1 on __Type { kind name ${typeLists('W')} }`;
    // descriptions answer far more than names: 30 aliased `__schema` of descriptions answered 1 MB
    const descriptions = `{ ${Array.from({ length: 30 }, (_, i) => `s${i}: __schema { types { description fields { description } } }`).join(' ')} }`;
    for (const query of [
      descriptions,
      `{ __schema { types { ...L1 } } } ${wrapped}`,
      `{ ${Array.from({ length: 27 }, (_, i) => `t${i}: __type(name: "Article") { ...L1 }`).join(' ')} } ${wrapped}`,
    ]) {
      const refused = await post(query);
      expect(refused.codes).toEqual(['QUERY_TOO_COSTLY']);
      expect(refused.statements).toEqual([]);
    }
    const lookup = await post(
      '{ __type(name: "Article") { name kind fields { name args { name } type { name kind ofType { name kind } } } } }',
    );
    expect(lookup.body.errors).toBeUndefined();
  });

  it('lets the heaviest legitimate page through: 100 articles with authors and topics', async () => {
    const result = await post(
      `{ articles(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title url source publishedAt priority isAustralian description summary authors { id name } topics { id name slug } } } } }`,
    );
    expect(result.body.errors).toBeUndefined();
  });

  it('refuses articles -> topics -> articles(first: 100) nested three deep (too deep, and too costly), even through variables', async () => {
    const query = `query ($n: Int) { articles(first: $n) { edges { node { topics { articles(first: $n) { edges { node { topics { articles(first: $n) { edges { node { title } } } } } } } } } } } }`;
    const result = await post(query, { n: 100 });
    expect(result.codes).toEqual(['QUERY_TOO_DEEP']);
    expect(result.statements).toEqual([]);
    // with the depth limit out of the way, its cost refuses it
    const deepAllowed = createServer({ ...config(), limits: { ...config().limits, maxDepth: 30 } });
    const { statements, result: response } = await recordStatements(async () =>
      deepAllowed.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { n: 100 } }),
      }),
    );
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors.map((e) => e.extensions.code)).toEqual(['QUERY_TOO_COSTLY']);
    expect(statements).toEqual([]);
    const twoDeep = await post(
      `{ articles(first: 100) { edges { node { topics { articles(first: 100) { edges { node { title } } } } } } } }`,
    );
    expect(twoDeep.codes).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('refuses a huge first with INVALID_PAGE_SIZE before any SQL', async () => {
    const result = await post(`{ articles(first: 1000000) { edges { node { title } } } }`);
    expect(result.codes).toEqual(['INVALID_PAGE_SIZE']);
    expect(result.statements).toEqual([]);
  });

  it('refuses a tampered cursor before any SQL', async () => {
    const cursor = Buffer.from(`["publishedAt:DESC",["2026-01-01T00:00:00Z","1 OR 1=1"]]`).toString('base64url');
    const result = await post(`query ($c: String) { articles(after: $c) { edges { node { title } } } }`, { c: cursor });
    expect(result.codes).toEqual(['INVALID_CURSOR']);
    expect(result.statements).toEqual([]);
  });

  it('treats %, _ and quotes in filter strings as text (no error, no match, no change)', async () => {
    const before = await snapshot();
    for (const value of ['%', '_', "' OR '1'='1", '"; DROP TABLE "Article"; --', '\\']) {
      const result = await post(`query ($v: String) { articles(filter: { title: { contains: $v } }) { totalCount } }`, {
        v: value,
      });
      expect(result.body.errors, value).toBeUndefined();
      expect((result.body.data as { articles: { totalCount: number } }).articles.totalCount).toBe(0);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('request shape', () => {
  it('refuses batched JSON arrays unless batching is enabled, and over its limit', async () => {
    // operations that would read the database: refused ones must send no SQL
    const body = JSON.stringify([{ query: '{ topics { totalCount } }' }, { query: '{ topics { totalCount } }' }]);
    const { statements, result: refused } = await recordStatements(async () =>
      yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }),
    );
    expect(refused.status).toBe(400);
    expect(statements).toEqual([]);
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'BATCHING_DISABLED',
    );

    const batching = createServer({ ...config(), batchLimit: 2 });
    const ok = await batching.fetch('http://newsgraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([{ data: { topics: { totalCount: 1 } } }, { data: { topics: { totalCount: 1 } } }]);
    const three = JSON.stringify(Array.from({ length: 3 }, () => ({ query: '{ topics { totalCount } }' })));
    const tooMany = await recordStatements(async () =>
      batching.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: three,
      }),
    );
    expect(tooMany.statements).toEqual([]);
    expect(tooMany.result.status).toBe(400);
    expect(
      ((await tooMany.result.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
    ).toBe('BATCH_TOO_LARGE');
  });

  it('answers GET parameters that are not JSON with 400 BAD_REQUEST, as it answers such a POST body', async () => {
    for (const accept of ['application/graphql-response+json', 'application/json', 'text/event-stream']) {
      for (const param of ['variables', 'extensions']) {
        for (const text of ['{', '{"a":', 'undefined', '\u0000']) {
          const response = await yoga.fetch(
            `http://newsgraph.test/graphql?query=${encodeURIComponent('{ __typename }')}&${param}=${encodeURIComponent(text)}`,
            { headers: { accept } },
          );
          expect(response.status, `${accept} ${param}=${text}`).toBe(400);
          const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
          expect(body.errors[0]).toEqual({
            message: `The "${param}" parameter is not valid JSON`,
            extensions: { code: 'BAD_REQUEST' },
          });
        }
      }
    }
    const fine = await yoga.fetch(
      `http://newsgraph.test/graphql?query=${encodeURIComponent('query ($b: Boolean!) { __typename @include(if: $b) }')}&variables=${encodeURIComponent('{"b":true}')}&extensions=${encodeURIComponent('{}')}`,
      { headers: { accept: 'application/json' } },
    );
    expect(await fine.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('answers a request that is not well-formed GraphQL over HTTP with 400 under every media type: a parameter twice, no query', async () => {
    const query = encodeURIComponent('{ __typename }');
    const refused = async (response: Response, message: string, what: string) => {
      expect(response.status, what).toBe(400);
      expect(await response.json(), what).toEqual({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
    };
    for (const accept of ['application/graphql-response+json', 'application/json']) {
      for (const [param, value] of [
        ['query', query],
        ['operationName', 'A'],
        ['variables', '{}'],
        ['extensions', '{}'],
        ['documentId', 'x'],
      ]) {
        const { statements, result } = await recordStatements(async () =>
          yoga.fetch(`http://newsgraph.test/graphql?query=${query}&${param}=${value}&${param}=${value}`, {
            headers: { accept },
          }),
        );
        await refused(result, `The "${param}" parameter is given more than once`, `${accept} ${param}`);
        expect(statements).toEqual([]);
      }
      const noQuery = 'Send the operation as "query" (a GraphQL document)';
      await refused(
        await yoga.fetch('http://newsgraph.test/graphql?variables={}', { headers: { accept } }),
        noQuery,
        accept,
      );
      await refused(await yoga.fetch('http://newsgraph.test/graphql?query=', { headers: { accept } }), noQuery, accept);
      for (const body of ['{}', '{"query":null}', '{"variables":{}}']) {
        await refused(
          await yoga.fetch('http://newsgraph.test/graphql', {
            method: 'POST',
            headers: { accept, 'content-type': 'application/json' },
            body,
          }),
          noQuery,
          `${accept} ${body}`,
        );
      }
      // a document id, on a server without a manifest (test/trusted-documents.test.ts: with one)
      const noManifest =
        'This server has no trusted documents manifest (TRUSTED_DOCUMENTS): send the operation as "query"';
      await refused(
        await yoga.fetch('http://newsgraph.test/graphql?documentId=sha256:abc', { headers: { accept } }),
        noManifest,
        accept,
      );
      await refused(
        await yoga.fetch('http://newsgraph.test/graphql', {
          method: 'POST',
          headers: { accept, 'content-type': 'application/json' },
          body: JSON.stringify({ documentId: 'sha256:abc' }),
        }),
        noManifest,
        `${accept} POST`,
      );
    }
    // a parameter the request does not repeat is fine, whatever else it repeats
    const fine = await yoga.fetch(`http://newsgraph.test/graphql?query=${query}&other=1&other=2`, {
      headers: { accept: 'application/json' },
    });
    expect(await fine.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a request body in a content coding (gzip, br...) with 415 and Accept-Encoding: identity, before reading it', async () => {
    const body = JSON.stringify({ query: '{ topics { totalCount } }' });
    for (const path of ['/graphql', '/import.ndjson', '/export.ndjson']) {
      for (const coding of ['gzip', 'br', 'deflate', 'identity, gzip', 'x-unknown']) {
        const { statements, result } = await recordStatements(async () =>
          yoga.fetch(`http://newsgraph.test${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-encoding': coding },
            body: path === '/graphql' ? body : '{}',
          }),
        );
        expect(result.status, `${path} ${coding}`).toBe(415);
        expect(result.headers.get('accept-encoding')).toBe('identity');
        expect(
          ((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
        ).toBe('UNSUPPORTED_MEDIA_TYPE');
        expect(statements).toEqual([]);
      }
    }
    // a transfer coding other than chunked: 501 (RFC 9112 6.1)
    for (const coding of ['gzip, chunked', 'deflate,chunked', 'x-custom, chunked']) {
      const { statements, result } = await recordStatements(async () =>
        yoga.fetch('http://newsgraph.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': coding },
          body,
        }),
      );
      expect(result.status, coding).toBe(501);
      expect(((await result.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
        'NOT_IMPLEMENTED',
      );
      expect(statements).toEqual([]);
    }
    for (const coding of ['identity', 'Identity', '']) {
      const response = await yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': coding },
        body,
      });
      expect(response.status, coding).toBe(200);
    }
  });

  it('serves /, /healthz, /readyz and /metrics to GET and HEAD alike, and answers other methods 405 with Allow', async () => {
    for (const path of ['/', '/healthz', '/readyz', '/metrics']) {
      const get = await yoga.fetch(`http://newsgraph.test${path}`);
      const head = await yoga.fetch(`http://newsgraph.test${path}`, { method: 'HEAD' });
      expect([get.status, head.status], path).toEqual([200, 200]);
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const other = await yoga.fetch(`http://newsgraph.test${path}`, {
          method,
          body: method === 'DELETE' ? null : '',
        });
        expect(other.status, `${method} ${path}`).toBe(405);
        expect(other.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
        expect(await other.json()).toEqual({
          errors: [{ message: `${path} answers GET and HEAD`, extensions: { code: 'METHOD_NOT_ALLOWED' } }],
        });
      }
    }
  });

  it('refuses bodies over 1 MB with HTTP 413, with or without Content-Length', async () => {
    const big = JSON.stringify({ query: `{ topics { totalCount } }`, variables: { pad: 'x'.repeat(1_100_000) } });
    const { statements, result: declared } = await recordStatements(async () =>
      yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
        body: big,
      }),
    );
    expect(declared.status).toBe(413);
    expect(statements).toEqual([]);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 12; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(100_000)));
        controller.close();
      },
    });
    const chunked = await yoga.fetch('http://newsgraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });
});
