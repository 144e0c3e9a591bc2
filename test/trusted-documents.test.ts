import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { execute, GraphQLRequestError } from '../examples/client/client.ts';
import { LatestArticles, TopicPage } from '../examples/client/operations.ts';
import { config, parseConfig } from '../src/config.ts';
import { createLogger } from '../src/observability.ts';
import { createServer } from '../src/yoga.ts';
import { seedDemo } from './support/demo.ts';

/**
 * Trusted documents: the example client (examples/client, typed by graphql-codegen's client
 * preset) sends only document ids; the server runs the manifest's text for them, and with
 * TRUSTED_DOCUMENTS_ONLY nothing else.
 */

const MANIFEST = path.resolve(import.meta.dirname, '../examples/client/gql/persisted-documents.json');
const ENDPOINT = 'http://newsgraph.test/graphql';
const logger = createLogger('silent');

function server(only: boolean) {
  const { trustedDocuments } = parseConfig({
    ...process.env,
    TRUSTED_DOCUMENTS: MANIFEST,
    TRUSTED_DOCUMENTS_ONLY: String(only),
  });
  const yoga = createServer({ ...config(), trustedDocuments }, { logger });
  return { yoga, client: { url: ENDPOINT, fetch: async (url: string, init: RequestInit) => yoga.fetch(url, init) } };
}

async function post(yoga: ReturnType<typeof server>['yoga'], body: object) {
  const response = await yoga.fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: any[] } };
}

beforeAll(async () => {
  await seedDemo();
});

describe('trusted documents', () => {
  it('the example client runs its typed operations by id alone', async () => {
    const { client } = server(true);
    const latest = await execute(client, LatestArticles, { first: 3, minPriority: 4 });
    expect(latest.articles.edges).toHaveLength(3);
    expect(latest.articles.edges.every(({ node }) => node.priority >= 4)).toBe(true);
    const slug = latest.articles.edges[0]!.node.topics[0]!.slug;
    const page = await execute(client, TopicPage, { slug, first: 2 });
    expect(page.topic?.articles.edges.length).toBeGreaterThan(0);
  });

  it('answers the same as the query text would', async () => {
    const { yoga } = server(false);
    const manifest = (await import(MANIFEST, { with: { type: 'json' } })).default as Record<string, string>;
    for (const [documentId, query] of Object.entries(manifest)) {
      const variables = query.includes('TopicPage') ? { slug: 'ai-safety', first: 2 } : { first: 2 };
      const byId = await post(yoga, { documentId, variables });
      const byText = await post(yoga, { query, variables });
      expect(byId.body.errors).toBeUndefined();
      expect(byId).toEqual(byText);
    }
  });

  it('takes a documentId in a GET query string too', async () => {
    const { yoga } = server(true);
    const manifest = (await import(MANIFEST, { with: { type: 'json' } })).default as Record<string, string>;
    const [documentId] = Object.entries(manifest).find(([, query]) => query.includes('LatestArticles'))!;
    const url = `${ENDPOINT}?documentId=${encodeURIComponent(documentId)}&variables=${encodeURIComponent(JSON.stringify({ first: 1 }))}`;
    const response = await yoga.fetch(url, { headers: { accept: 'application/graphql-response+json' } });
    const body = (await response.json()) as { data?: { articles: { edges: unknown[] } }; errors?: unknown[] };
    expect(response.status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.articles.edges).toHaveLength(1);
  });

  it('with TRUSTED_DOCUMENTS_ONLY, refuses a query text and an unknown id with HTTP 400, running nothing', async () => {
    const { yoga, client } = server(true);
    const text = await post(yoga, { query: '{ articles(first: 1) { totalCount } }' });
    expect(text.status).toBe(400);
    expect(text.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
    expect(text.body.data).toBeUndefined();
    const unknown = await post(yoga, { documentId: `sha256:${'0'.repeat(64)}` });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    // the typed client reports it as an error with the status
    const forged = { ...LatestArticles, __meta__: { hash: `sha256:${'1'.repeat(64)}` } } as typeof LatestArticles;
    await expect(execute(client, forged, { first: 1 })).rejects.toBeInstanceOf(GraphQLRequestError);
  });

  it('without it, runs query texts too; without a manifest, refuses documentId as an unknown parameter', async () => {
    const { yoga } = server(false);
    const text = await post(yoga, { query: '{ articles(first: 1) { totalCount } }' });
    expect(text.body.errors).toBeUndefined();
    const plain = createServer({ ...config(), trustedDocuments: { only: false } }, { logger });
    const refused = await post(plain, {
      documentId: Object.keys(await import(MANIFEST, { with: { type: 'json' } }))[0],
    });
    expect(refused.status).toBe(400);
  });

  it('refuses to start on a missing manifest, or TRUSTED_DOCUMENTS_ONLY without one, naming the variable', () => {
    expect(() => parseConfig({ TRUSTED_DOCUMENTS: '/nonexistent/manifest.json' })).toThrow(
      /TRUSTED_DOCUMENTS: cannot read/,
    );
    const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-')), 'manifest.json');
    fs.writeFileSync(broken, JSON.stringify({ 'sha256:abc': 'query { articles {' }));
    expect(() => parseConfig({ TRUSTED_DOCUMENTS: broken })).toThrow(/the document sha256:abc is not GraphQL/);
    expect(() => parseConfig({ TRUSTED_DOCUMENTS_ONLY: 'true' })).toThrow(
      /TRUSTED_DOCUMENTS_ONLY: needs TRUSTED_DOCUMENTS/,
    );
  });
});
