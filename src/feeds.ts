import type { Plugin } from 'graphql-yoga';
import { prisma } from './db/client.ts';
import { databaseFailure } from './db/errors.ts';
import { ErrorCode, UserInputError } from './errors.ts';
import { renderFeed, type FeedFormat } from './resolvers/alerts/feeds.ts';
import { alertSettings } from './resolvers/alerts/settings.ts';
import { requestIdOf } from './observability.ts';
import { decodeGlobalID, encodeGlobalID } from './schema/builder.ts';
import { schema } from './schema/index.ts';

/** Where feeds are served: /feeds/<token>.rss|.atom|.json. */
const FEED_PATH = /^\/feeds\/([A-Za-z0-9_-]{1,100})\.(rss|atom|json)$/;

/** IMF-fixdate, RFC 850 and asctime (RFC 9110 section 5.6.7). */
const HTTP_DATE_FORMS = [
  /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * The instant of an HTTP-date (RFC 9110 section 5.6.7: IMF-fixdate `Sun, 06 Nov 1994 08:49:37
 * GMT`, or the obsolete RFC 850 and asctime forms), in ms; NaN for anything else (`Date.parse`
 * alone took ISO 8601 and more) and for a date after `now` (RFC 7232 section 3.3: invalid), so
 * that If-Modified-Since ignores it (RFC 9110 section 13.1.3) rather than answering 304 forever.
 */
export function httpDate(value: string | null, now = Date.now()): number {
  if (value === null || !HTTP_DATE_FORMS.some((form) => form.test(value))) return Number.NaN;
  // asctime carries no zone: it is GMT
  const instant = Date.parse(/GMT$/.test(value) ? value : `${value} GMT`);
  return instant > now ? Number.NaN : instant;
}

/**
 * Yoga plugin: a saved search's feeds (resolvers/alerts/feeds.ts) at /feeds/<token>.<format>, for
 * GET and HEAD. 304 Not Modified when If-None-Match holds the ETag, or (without it)
 * If-Modified-Since is not before Last-Modified; 404 for an unknown token or path; 405 for another
 * method; 409 SAVED_SEARCH_OUTDATED when today's rules refuse the saved search's question; 503 with Retry-After when the database is unavailable (`logFailure` logs the cause).
 */
export function useFeeds(logFailure: (requestId: string, error: unknown) => void): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith('/feeds/')) return;
      const json = (status: number, message: string, code: string, headers: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
          }),
        );
      const match = FEED_PATH.exec(url.pathname);
      if (!match) return json(404, 'No such feed', 'NOT_FOUND');
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return json(405, 'Feeds answer GET and HEAD', 'METHOD_NOT_ALLOWED', { allow: 'GET, HEAD' });
      }
      let feed;
      try {
        feed = await renderFeed(
          prisma,
          match[1]!,
          match[2] as FeedFormat,
          { schema, encodeId: encodeGlobalID, decodeId: decodeGlobalID },
          alertSettings().publicUrl,
        );
      } catch (error) {
        // a saved search whose stored question today's rules refuse: the feed cannot be made until an
        // editor updates it (409: the saved search's state, not this request, is at fault)
        if (error instanceof UserInputError && error.extensions.code === ErrorCode.SAVED_SEARCH_OUTDATED) {
          return json(409, error.message, ErrorCode.SAVED_SEARCH_OUTDATED);
        }
        if (!databaseFailure(error)) throw error;
        logFailure(requestIdOf(request), error);
        return json(503, 'The database is unavailable; retry shortly', 'DATABASE_UNAVAILABLE', { 'retry-after': '5' });
      }
      if (!feed) return json(404, 'No such feed (the token may have been rotated)', 'NOT_FOUND');
      const validators = {
        etag: feed.etag,
        'last-modified': feed.lastModified.toUTCString(),
        // private: the URL is a secret; no-cache: revalidate (cheaply, with the validators) each time
        'cache-control': 'private, no-cache',
      };
      const ifNoneMatch = request.headers.get('if-none-match');
      const ifModifiedSince = httpDate(request.headers.get('if-modified-since'));
      const fresh = ifNoneMatch
        ? ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === feed.etag || tag.trim() === '*')
        : Number.isFinite(ifModifiedSince) && feed.lastModified.getTime() <= ifModifiedSince;
      if (fresh) return endResponse(new fetchAPI.Response(null, { status: 304, headers: validators }));
      endResponse(
        new fetchAPI.Response(request.method === 'HEAD' ? null : feed.body, {
          status: 200,
          headers: { ...validators, 'content-type': feed.contentType },
        }),
      );
    },
  };
}
