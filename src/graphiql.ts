import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { Plugin } from 'graphql-yoga';

/**
 * GraphiQL, self-contained (its JavaScript and CSS are inlined: no CDN, works offline), opening
 * on example tabs. The page is rendered once and served compressed when the browser accepts it.
 */

/**
 * The tabs GraphiQL opens on, in order: six queries on the demo data (filtered list, busiest
 * authors, title search, full-text search with highlights, facets, stories), then FileStory/CorrectStory,
 * which need an EDITOR key. The README names tabs by position ("GraphiQL's third tab").
 */
export const EXAMPLE_TABS = [
  {
    query: `# Priority 4+ Australian stories on a topic, newest first, with authors in byline order.
# Page on with: articles(first: 10, after: "<pageInfo.endCursor>")
query RecentAustralianHighPriority {
  articles(
    first: 10
    filter: {
      isAustralian: true
      priority: { gte: 4 }
      topics: { some: { name: { contains: "ai" } } }
    }
    orderBy: [{ field: PUBLISHED_AT, direction: DESC }]
  ) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id
        title
        source
        publishedAt
        priority
        authors { name }
        topics { name slug }
      }
    }
  }
}`,
  },
  {
    query: `# Authors with the most articles, each with their latest three.
query BusiestAuthors {
  authors(first: 5, orderBy: [{ field: ARTICLE_COUNT, direction: DESC }]) {
    totalCount
    edges {
      node {
        name
        articleCount
        articles(first: 3) {
          edges { node { title publishedAt } }
        }
      }
    }
  }
}`,
  },
  {
    query: `# Stories whose title mentions a word, from one publication, in a date range.
query TitleSearch {
  articles(
    first: 20
    filter: {
      title: { contains: "model" }
      source: { equals: "The Australian Financial Review" }
      publishedAt: { gte: "2025-01-01T00:00:00Z", lt: "2027-01-01T00:00:00Z" }
    }
  ) {
    totalCount
    edges { node { title url publishedAt } }
  }
}`,
  },
  {
    query: `# Full-text search (web syntax: "quoted phrase", -exclude, or), most relevant first,
# with the matches highlighted in the body, and a capped count for the results header.
query SearchWithHighlights {
  articles(search: "chips or semiconductors -china", first: 10, filter: { priority: { gte: 3 } }) {
    count(cap: 1000) { value isCapped }
    pageInfo { hasNextPage endCursor }
    edges {
      highlight(field: BODY, startMarker: "<mark>", stopMarker: "</mark>")
      node { title source publishedAt }
    }
  }
  authors(filter: { nameSearch: "ghafary" }, first: 3) {
    edges { node { name articleCount } }
  }
}`,
  },
  {
    query: `# How a result set breaks down: the counts a filter sidebar and a timeline need.
query SearchFacets {
  articleFacets(search: "AI safety", filter: { isAustralian: true }, topTopics: 5, topSources: 5) {
    total
    topics { topic { name slug } count }
    sources { source count }
    priorities { priority count }
    australian { isAustralian count }
    months { month count }
  }
}`,
  },
  {
    query: `# Stories: a wire story republished by several papers is one story. With collapse: STORY a
# list shows one article per story (the best ranked for a search) and totalCount counts stories.
# Editors correct the grouping with mergeStories, detachArticle and setStoryLead.
query SyndicatedStories {
  articles(first: 5, search: "distillation", collapse: STORY) {
    totalCount
    edges {
      node {
        title
        source
        story {
          articleCount
          sources
          lead { title source publishedAt }
          articles(first: 5) { edges { node { title source publishedAt } } }
        }
      }
    }
  }
}`,
  },
  {
    query: `# Live updates: each article filed matching the filter, or updated into it, arrives here as it
# commits (GraphQL over SSE; over WebSocket, graphql-ws at the same URL). Run it, then file a story
# from the next tab: it appears here. Editors can watch a saved search: articleMatched(savedSearchId:).
subscription WatchNewArticles {
  articleMatched(filter: { priority: { gte: 3 } }) {
    reason
    article { title source priority publishedAt authors { name } }
  }
}`,
  },
  {
    query: `# File a story (or update it if its link is already filed), then correct it.
# Needs an EDITOR or ADMIN key: put yours in the Headers tab below.
# (npm start prints an admin key with the demo data; npm run apikey -- create makes more.)
mutation FileStory {
  upsertArticle(input: {
    title: "Example story filed from GraphiQL"
    url: "https://news.example/graphiql-story?utm_source=docs"
    source: "The Example Herald"
    publishedAt: "2026-04-07T01:24:00Z"
    priority: 3
    isAustralian: true
    authors: [{ name: "Ada Example" }, { name: "Shirin Ghaffary" }]
    topics: [{ name: "AI Safety" }]
  }) {
    __typename
    ... on UpsertArticleSuccess { created article { id version title authors { name } } }
    ... on ValidationError { fields { path code message } }
    ... on Error { code message }
  }
}

mutation CorrectStory($id: ID!, $version: Int!) {
  updateArticle(input: { id: $id, expectedVersion: $version, priority: 4 }) {
    __typename
    ... on UpdateArticleSuccess { article { version priority updatedAt } }
    ... on VersionConflictError { currentVersion }
    ... on Error { code message }
  }
}`,
    variables: '{ "id": "<id from FileStory>", "version": 1 }',
    headers: '{ "Authorization": "Bearer <your API key>" }',
  },
  {
    query: `# Saved searches (EDITOR): keep a question under a name, read its matches as articles would,
# count what was filed since you last looked, and hand feed readers its RSS, Atom and JSON Feed
# URLs. createWebhook POSTs each new match to your receiver, signed (see the README).
mutation SaveSearch {
  createSavedSearch(input: {
    name: "Priority 4+ Australian stories on safety"
    filter: { priority: { gte: 4 }, isAustralian: true }
    search: "safety"
  }) {
    __typename
    ... on CreateSavedSearchSuccess {
      savedSearch {
        id
        name
        feeds { rss atom json }
        newSince(time: "2026-01-01T00:00:00Z")
        articles(first: 5) { totalCount edges { node { title source publishedAt } } }
      }
    }
    ... on ValidationError { fields { path code message } }
    ... on Error { code message }
  }
}`,
    headers: '{ "Authorization": "Bearer <your API key>" }',
  },
];

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

type Encoded = { body: Uint8Array; encoding?: 'br' | 'gzip' };

function pickEncoding(acceptEncoding: string | null): 'br' | 'gzip' | undefined {
  const accepted = new Set(
    (acceptEncoding ?? '')
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, q]) => !q || !/^q=0(\.0*)?$/.test(q.trim()))
      .map(([name]) => name!.toLowerCase()),
  );
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip')) return 'gzip';
  return undefined;
}

/** Serves GraphiQL on GET {endpoint} for browsers (requests that accept text/html). */
export function useGraphiQLPage(endpoint: string): Plugin {
  const html = renderGraphiQL({
    title: 'Newsgraph GraphiQL',
    endpoint,
    defaultTabs: EXAMPLE_TABS,
    defaultEditorToolsVisibility: false,
  });
  const raw = Buffer.from(html, 'utf8');
  const variants = new Map<string, Promise<Encoded>>();
  const variant = (encoding: 'br' | 'gzip' | undefined): Promise<Encoded> => {
    const key = encoding ?? 'identity';
    let found = variants.get(key);
    if (!found) {
      found =
        encoding === 'br'
          ? brotli(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9 } }).then((body) => ({ body, encoding }))
          : encoding === 'gzip'
            ? gzip(raw, { level: 9 }).then((body) => ({ body, encoding }))
            : Promise.resolve({ body: raw });
      variants.set(key, found);
    }
    return found;
  };
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET' || url.pathname !== endpoint) return;
      if (!(request.headers.get('accept') ?? '').includes('text/html')) return;
      const { body, encoding } = await variant(pickEncoding(request.headers.get('accept-encoding')));
      const headers: Record<string, string> = {
        'content-type': 'text/html; charset=utf-8',
        vary: 'Accept-Encoding',
        'cache-control': 'no-cache',
      };
      if (encoding) headers['content-encoding'] = encoding;
      endResponse(new fetchAPI.Response(body as BodyInit, { status: 200, headers }));
    },
  };
}
