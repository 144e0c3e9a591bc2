import { initContextCache } from '@pothos/core';
import {
  execute as run,
  getNamedType,
  isEnumType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  parse,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import type { Viewer } from '../src/resolvers/access/viewer.ts';
import { createArticle, deleteArticle, restoreArticle } from '../src/resolvers/articles/writes.ts';
import { createAuthor, createTopic } from '../src/resolvers/catalog/writes.ts';
import { schema } from '../src/schema/index.ts';
import { yoga } from './support/api.ts';
import { globalId } from './support/demo.ts';

/**
 * A trashed article is gone from every read path: this walks every field of Query, and every
 * field reachable from it (lists, connections, counts, facets, histograms, stories, nodes, an
 * author's and a topic's articles, a saved search's matches), and proves that what the schema
 * answers with an article in the trash is exactly what it answered before the article was filed,
 * and that the same walk did see the article while it was live (so the walk can fail).
 */

const admin: Viewer = { kind: 'apiKey', keyId: 0, name: 'walk-admin', role: 'ADMIN' };
const MAX_DEPTH = 5;
const MARK = 'zebracornish';

/** Fields the walk leaves out: not about articles, or the trash itself. */
const UNRELATED = new Set(['apiKeys', 'viewer', 'trashedArticles']);

/** Values for required arguments, by field; the rest get a value of their type. */
let argsOf: Record<string, Record<string, unknown>> = {};

function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object' && value && 'enum' in value) return String((value as { enum: string }).enum);
  return JSON.stringify(value);
}

function defaultFor(type: GraphQLInputType): unknown {
  const named = getNamedType(type);
  if (isEnumType(named)) return { enum: named.getValues().at(-1)!.name };
  switch (named.name) {
    case 'Int':
      return 5;
    case 'String':
      return MARK;
    case 'Boolean':
      return true;
    case 'DateTime':
      return '2020-01-01T00:00:00Z';
    default:
      return undefined;
  }
}

/** The selection of every field of `type` to `depth`, types on the path not entered again. */
function selection(type: GraphQLNamedType, depth: number, path: Set<string>): string | null {
  if (isLeafType(type)) return '';
  if (depth >= MAX_DEPTH || path.has(type.name)) return null;
  const inner = new Set([...path, type.name]);
  if (isInterfaceType(type) || isUnionType(type)) {
    const fragments = schema
      .getPossibleTypes(type)
      .map((possible) => {
        const body = selection(possible, depth, path);
        return body ? `... on ${possible.name} ${body}` : null;
      })
      .filter(Boolean);
    return fragments.length ? `{ __typename ${fragments.join(' ')} }` : null;
  }
  if (!isObjectType(type)) return null;
  const parts: string[] = [];
  for (const field of Object.values(type.getFields())) {
    const args = fieldArgs(field, false);
    if (args === null) continue;
    const body = selection(getNamedType(field.type), depth + 1, inner);
    if (body === null) continue;
    parts.push(`${field.name}${args} ${body}`);
  }
  return parts.length ? `{ ${parts.join(' ')} }` : null;
}

/** The arguments to pass: the required ones (null when one cannot be given), plus `search` at the top if `withSearch`. */
function fieldArgs(field: GraphQLField<unknown, unknown>, withSearch: boolean): string | null {
  const given: string[] = [];
  for (const arg of field.args) {
    const preset = argsOf[field.name]?.[arg.name];
    if (preset !== undefined) {
      given.push(`${arg.name}: ${literal(preset)}`);
      continue;
    }
    if (withSearch && arg.name === 'search') {
      given.push(`search: ${literal(MARK)}`);
      continue;
    }
    if (!isNonNullType(arg.type) || arg.defaultValue !== undefined) continue;
    const value = isListType(arg.type.ofType) ? undefined : defaultFor(arg.type);
    if (value === undefined) return null;
    given.push(`${arg.name}: ${literal(value)}`);
  }
  return given.length ? `(${given.join(', ')})` : '';
}

/** One document per Query field (and a second with `search` where it takes one). */
function documents(): Map<string, string> {
  const out = new Map<string, string>();
  for (const field of Object.values(schema.getQueryType()!.getFields())) {
    if (UNRELATED.has(field.name)) continue;
    const body = selection(getNamedType(field.type as GraphQLOutputType), 1, new Set(['Query']));
    for (const withSearch of [false, true]) {
      if (withSearch && !field.args.some((arg) => arg.name === 'search')) continue;
      const args = fieldArgs(field, withSearch);
      if (args === null || body === null) throw new Error(`the walk cannot ask ${field.name}`);
      out.set(`${field.name}${withSearch ? ' (search)' : ''}`, `{ ${field.name}${args} ${body} }`);
    }
  }
  return out;
}

async function answers(docs: Map<string, string>): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  // the saved search's feeds: what feed readers see
  for (const format of ['json', 'rss', 'atom']) {
    const response = await yoga.fetch(`http://newsgraph.test/feeds/walk-feed-token.${format}`);
    expect(response.status).toBe(200);
    // the feed's own date is when its content last changed: it moves at each step, by design
    const text = (await response.text())
      .replace(/<lastBuildDate>[^<]*<\/lastBuildDate>/, '')
      .replace(/<updated>[^<]*<\/updated>/, '');
    out.set(`feed.${format}`, text);
  }
  for (const [name, text] of docs) {
    const result = await run({
      schema,
      document: parse(text),
      contextValue: { ...initContextCache(), requestId: 'walk', viewer: admin, clientAddress: 'test' },
    });
    expect(result.errors, `${name}: ${JSON.stringify(result.errors)}`).toBeUndefined();
    out.set(name, JSON.parse(JSON.stringify(result.data)));
  }
  return out;
}

/** Story IDs replaced by one placeholder: a restored article's story of its own is a new row. */
function withoutStoryIds(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (_key, v) =>
    typeof v === 'string' && /^Story:\d+$/.test(Buffer.from(v, 'base64').toString()) ? 'Story:*' : v,
  );
}

describe('a trashed article in every read path', () => {
  let docs: Map<string, string>;
  let articleId: number;
  let other: number;

  beforeAll(async () => {
    const author = await createAuthor(prisma, { name: 'Walk Author' }, admin);
    await createAuthor(prisma, { name: 'Walk Second Author' }, admin);
    const topic = await createTopic(prisma, { name: 'Walk Topic' }, admin);
    // a live article with the same words, author and topic: every list has something before and after
    other = (
      await createArticle(
        prisma,
        {
          title: `${MARK} stays`,
          url: 'https://walk.example/stays',
          source: 'Walk Source',
          publishedAt: new Date('2024-03-01T00:00:00Z'),
          priority: 3,
          body: `${MARK} one two three four five six`,
          authors: [{ name: 'Walk Author' }],
          topics: [{ name: 'Walk Topic' }],
        },
        admin,
      )
    ).id;
    const saved = await prisma.savedSearch.create({
      data: { name: 'walk', search: MARK, feedToken: 'walk-feed-token' },
    });
    argsOf = {
      article: { id: globalId('Article', 0) },
      node: { id: globalId('Article', 0) },
      nodes: { ids: [globalId('Article', 0)] },
      author: { id: globalId('Author', author.id) },
      topic: { id: globalId('Topic', topic.id) },
      savedSearch: { id: globalId('SavedSearch', saved.id) },
      articleHistogram: { from: '2020-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z', interval: { enum: 'YEAR' } },
    };
  });

  it('answers as before it was filed, though the walk saw it while it was live, and as when live once restored', async () => {
    // the id the article will get, asked for by node/nodes/article before it exists too
    const next = other + 1;
    for (const name of ['article', 'node']) argsOf[name] = { id: globalId('Article', next) };
    argsOf.nodes = { ids: [globalId('Article', next)] };
    docs = documents();
    expect(docs.size).toBeGreaterThan(12);
    const before = await answers(docs);

    const created = await createArticle(
      prisma,
      {
        title: `${MARK} goes to the trash`,
        url: 'https://walk.example/trashed',
        source: 'Walk Trash Source',
        publishedAt: new Date('2025-06-01T00:00:00Z'),
        priority: 5,
        isAustralian: true,
        description: `${MARK} described`,
        body: `${MARK} alpha beta gamma delta epsilon zeta`,
        authors: [{ name: 'Walk Author' }, { name: 'Walk Second Author' }],
        topics: [{ name: 'Walk Topic' }],
      },
      admin,
    );
    articleId = created.id;
    expect(articleId).toBe(next);
    const live = await answers(docs);
    const unchanged = [...live.keys()].filter(
      (name) => JSON.stringify(live.get(name)) === JSON.stringify(before.get(name)),
    );
    // every field the walk asks shows the live article somehow (else it could not tell a leak)
    expect(unchanged).toEqual([]);

    await deleteArticle(prisma, { id: { id: articleId } }, admin);
    const trashed = await answers(docs);
    for (const name of before.keys()) expect(trashed.get(name), name).toEqual(before.get(name));

    await restoreArticle(prisma, { id: { id: articleId } }, admin);
    const restored = await answers(docs);
    for (const name of live.keys()) {
      expect(withoutStoryIds(restored.get(name)), name).toEqual(withoutStoryIds(live.get(name)));
    }
  });
});
