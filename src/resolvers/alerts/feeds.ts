import { createHash, randomUUID } from 'node:crypto';
import { Feed } from 'feed';
import type { Db } from '../../db/client.ts';
import { listArticles, searchArticles } from '../articles/list.ts';
import { checkSearchText } from '../lists/filter.ts';
import { runnableQuestion, type ArgumentCodec } from './savedSearches.ts';

/**
 * A saved search's feeds: RSS 2.0 (https://www.rssboard.org/rss-specification), Atom 1.0 (RFC
 * 4287) and JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), built with the `feed`
 * library: the newest FEED_SIZE matching articles by publication, each linking to the original
 * story. HTTP validators: a strong ETag (SHA-256 of the body) and Last-Modified (the latest
 * change of the saved search or of an article in it), so readers get 304 Not Modified.
 */

/** Articles in a feed. */
export const FEED_SIZE = 50;

/** The feed formats, by file extension: RSS 2.0, Atom 1.0, JSON Feed 1.1. */
export type FeedFormat = 'rss' | 'atom' | 'json';

const CONTENT_TYPES: Record<FeedFormat, string> = {
  rss: 'application/rss+xml; charset=utf-8',
  atom: 'application/atom+xml; charset=utf-8',
  json: 'application/feed+json; charset=utf-8',
};

/** A rendered feed: its body, content type and validators. */
export interface RenderedFeed {
  body: string;
  contentType: string;
  etag: string;
  lastModified: Date;
}

/** The feed of the saved search whose token is `token`, in `format`; null when no saved search has it. */
export async function renderFeed(
  db: Db,
  token: string,
  format: FeedFormat,
  codec: ArgumentCodec,
  publicUrl: string,
): Promise<RenderedFeed | null> {
  const saved = await db.savedSearch.findUnique({
    where: { feedToken: token },
    select: { id: true, name: true, filter: true, search: true, orderBy: true, feedHash: true, feedChangedAt: true },
  });
  if (!saved) return null;
  const question = await runnableQuestion(db, saved, codec);
  const args = {
    filter: question.filter,
    orderBy: [{ field: 'PUBLISHED_AT' as const, direction: 'DESC' as const }],
    first: FEED_SIZE,
  };
  const select = {
    id: true,
    title: true,
    url: true,
    source: true,
    publishedAt: true,
    updatedAt: true,
    description: true,
    summary: true,
    authors: { orderBy: { position: 'asc' as const }, select: { author: { select: { name: true } } } },
    topics: { orderBy: { topic: { name: 'asc' as const } }, select: { topic: { select: { name: true } } } },
  };
  const page = question.search
    ? await searchArticles(
        db,
        { ...args, search: checkSearchText(question.search, 'search') },
        { select },
        { countWanted: false },
      )
    : await listArticles(db, args, { select });
  type Row = {
    id: number;
    title: string;
    url: string;
    source: string;
    publishedAt: Date;
    updatedAt: Date;
    description: string;
    summary: string;
    authors: { author: { name: string } }[];
    topics: { topic: { name: string } }[];
  };
  const rows = page.edges.map((edge) => edge.node as unknown as Row);
  // Last-Modified is when what the feed shows last changed, as first seen here: the content's
  // hash is kept with the saved search and its time moves only when the hash does (an article
  // that leaves the feed, an author renamed, moves it too; the newest updatedAt would not)
  const shown = createHash('sha256')
    .update(JSON.stringify([saved.name, rows]))
    .digest('base64url');
  let lastModified = saved.feedChangedAt;
  if (saved.feedHash !== shown || !lastModified) {
    const [moved] = await db.$queryRaw<{ feedChangedAt: Date }[]>`
      UPDATE "SavedSearch" SET "feedHash" = ${shown},
        -- whole seconds (HTTP dates), and always later than the time before: a change within the
        -- second of the last one must not look unchanged to If-Modified-Since
        "feedChangedAt" = GREATEST(date_trunc('second', now()), "feedChangedAt" + interval '1 second')
      WHERE "id" = ${saved.id} AND "feedHash" IS DISTINCT FROM ${shown}
      RETURNING "feedChangedAt"`;
    // another request recorded this content first: its time stands
    lastModified =
      moved?.feedChangedAt ??
      (await db.savedSearch.findUnique({ where: { id: saved.id }, select: { feedChangedAt: true } }))?.feedChangedAt ??
      new Date(Math.floor(Date.now() / 1000) * 1000);
  }
  const self = `${publicUrl}/feeds/${token}`;
  // RSS and Atom are XML 1.0, whose documents cannot hold some characters a text may (U+FFFE,
  // U+FFFF, C0 controls but tab and newlines): they are left out of the XML formats
  const text = (value: string) => (format === 'json' ? value : xmlText(value));
  // Atom's <title type="html"> and RSS's item <title> (which readers take as HTML: RSS Best
  // Practices Profile, "title") hold HTML: our plain text is escaped, so a reader shows it
  const html = (value: string) => (format === 'json' ? value : escapeHtml(xmlText(value)));
  // an Atom <category>'s attributes: the library escapes & and " there, not <, which XML 1.0
  // forbids in an attribute value (AttValue): a topic named "a<b" made the whole feed unreadable
  const lessThan = format === 'atom' ? `\u{F0000}${randomUUID()}\u{F0000}` : '<';
  const category = (name: string) => {
    const value = text(name).replaceAll('<', lessThan);
    // RFC 4287 section 4.2.2: term is required; label is what a reader shows
    return format === 'atom' ? { name: value, term: value } : { name: value };
  };
  // RSS's channel title and description too: aggregators take them as HTML; Atom's feed title
  // is text (no type), which XML escaping keeps text
  const channel = (value: string) => (format === 'rss' ? html(value) : text(value));
  const feed = new Feed({
    id: `${self}.atom`,
    title: channel(saved.name),
    description: channel(`Newsgraph saved search "${saved.name}": its newest ${FEED_SIZE} matches`),
    link: publicUrl,
    updated: lastModified,
    generator: 'Newsgraph',
    copyright: '',
    feedLinks: { rss: `${self}.rss`, atom: `${self}.atom`, json: `${self}.json` },
  });
  for (const row of rows) {
    const shownText = row.summary || row.description || row.title;
    feed.addItem({
      title: html(row.title),
      id: `urn:newsgraph:article:${row.id}`,
      guid: `urn:newsgraph:article:${row.id}`,
      link: row.url,
      date: row.updatedAt,
      published: row.publishedAt,
      // our text is plain: escaped, so that a reader shows it rather than runs it as HTML
      description: row.description ? escapeHtml(text(row.description)) : undefined,
      content: escapeHtml(text(shownText)),
      // RSS 2.0's <author> is an e-mail address, which authors here have none of: Atom and JSON only
      ...(row.authors.length && format !== 'rss'
        ? { author: row.authors.map((byline) => ({ name: text(byline.author.name) })) }
        : {}),
      category: [category(row.source), ...row.topics.map((tag) => category(tag.topic.name))],
    });
  }
  const body =
    format === 'rss'
      ? feed.rss2()
      : format === 'atom'
        ? feed.atom1().replaceAll(lessThan, '&lt;')
        : jsonFeed11(
            feed.json1(),
            rows.map((row) => ({
              text: row.summary || row.description || row.title,
              summary: row.description || undefined,
              authors: row.authors.map((byline) => ({ name: byline.author.name })),
            })),
          );
  return {
    body,
    contentType: CONTENT_TYPES[format],
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`,
    lastModified,
  };
}

/**
 * The library's JSON Feed 1 as version 1.1 (JSON Feed 1.1, "Changes since 1.0"): the `version`
 * URL; `authors` arrays (every author) in place of the deprecated `author` object; the text as
 * `content_text` (it is plain text) rather than HTML.
 */
function jsonFeed11(json: string, items: { text: string; summary?: string; authors: { name: string }[] }[]): string {
  const feed = JSON.parse(json) as Record<string, unknown> & { items: Record<string, unknown>[] };
  feed.version = 'https://jsonfeed.org/version/1.1';
  feed.items.forEach((item, index) => {
    const own = items[index]!;
    delete item.author;
    delete item.content_html;
    item.content_text = own.text;
    if (own.summary) item.summary = own.summary;
    else delete item.summary;
    if (own.authors.length) item.authors = own.authors;
  });
  return JSON.stringify(feed, null, 2);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Characters XML 1.0 documents cannot hold (section 2.2, Char), all removed. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** `value` without the characters an XML 1.0 document cannot hold. */
export function xmlText(value: string): string {
  return value.replace(NOT_XML, '');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}
