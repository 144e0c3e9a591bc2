import crypto from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { prisma } from '../db/client.ts';
import { databaseFailure } from '../db/errors.ts';
import { BodyNotReceived, readBodyBytes, withoutSuggestions } from '../http.ts';
import { clientKey } from '../rateLimit.ts';
import { UserInputError } from '../errors.ts';
import { requestIdOf } from '../observability.ts';
import { readRecords } from '../records/read.ts';
import { csvHeader, csvRow, ndjsonLine } from '../records/write.ts';
import { RequestTimedOut } from '../deadline.ts';
import { currentDeadline, currentScope, outsideScope, RequestScope, withScope } from '../requestScope.ts';
import { AuthenticationError, authenticate } from '../resolvers/access/apiKeys.ts';
import { hasRole, type Viewer } from '../resolvers/access/viewer.ts';
import { encodeGlobalID } from '../schema/builder.ts';
import { exportRecords, type ExportQuestion } from './export.ts';
import { IMPORTER_NAME, importRecords, type ImportOutcome } from './import.ts';

/**
 * The bulk endpoints, as a Yoga plugin:
 * - `GET /export.ndjson` and `GET /export.csv`, with optional query parameters `filter` (the JSON
 *   of an ArticleFilter, as `articles(filter:)` takes it) and `search`: every matching article as an
 *   import record (transfer/export.ts), streamed in keyset order with back-pressure (constant
 *   memory, however many); `HEAD` answers GET's status and headers without the body; or `POST`
 *   with the same as a JSON body `{ filter, search }`, for a question longer than a URL holds
 *   (postedQuestion);
 * - `POST /import.ndjson`: a body of NDJSON records (at most IMPORT_BODY_BYTES), each filed as
 *   `npm run import` files it (transfer/import.ts); the answer is NDJSON, one outcome per record in
 *   order (`{ line, status, id }` or `{ line, status: "rejected", errors }`), then
 *   `{ summary: { created, updated, unchanged, rejected } }`.
 * Both need an EDITOR key (`Authorization: Bearer ngk_...`: 401 without a valid one, 403 without the
 * role), or the local token the embedded database's owner wrote into its folder
 * (db/folderLock.ts announceLocalToken). Errors answer JSON `{ errors: [{ message, extensions: { code } }] }`.
 */

/** Largest body of one POST /import.ndjson, in bytes (the import command sends batches well under it). */
export const IMPORT_BODY_BYTES = 16 * 1024 * 1024;

let localToken: string | null = null;

/** Accepts `token` (the embedded owner's local transfer token) on the bulk endpoints of this process. */
export function acceptLocalToken(token: string | null): void {
  localToken = token;
}

const LOCAL_VIEWER: Viewer = { kind: 'apiKey', keyId: 0, name: 'import', role: 'EDITOR' };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** The viewer of a bulk request, or the status and code to refuse it with. */
async function bulkViewer(request: Request): Promise<Viewer | { status: number; code: string; message: string }> {
  const authorization = request.headers.get('authorization');
  const bearer = authorization ? /^Bearer +(\S+) *$/i.exec(authorization)?.[1] : undefined;
  if (bearer && localToken && bearer.startsWith('ngl_')) {
    return sameSecret(bearer, localToken)
      ? LOCAL_VIEWER
      : { status: 401, code: 'UNAUTHENTICATED', message: 'Unknown local token' };
  }
  let viewer: Viewer;
  try {
    viewer = await authenticate(prisma, authorization);
  } catch (error) {
    if (error instanceof AuthenticationError) return { status: 401, code: 'UNAUTHENTICATED', message: error.message };
    throw error;
  }
  if (viewer.kind !== 'apiKey') {
    return { status: 401, code: 'UNAUTHENTICATED', message: 'Bulk import and export need an API key' };
  }
  if (!hasRole(viewer, 'EDITOR')) return { status: 403, code: 'FORBIDDEN', message: 'This needs the EDITOR role' };
  return viewer;
}

/** The JSON form of an import outcome, with a global ID. */
export function outcomeLine(outcome: ImportOutcome): string {
  if (outcome.status === 'rejected') {
    return `${JSON.stringify({ line: outcome.line, status: outcome.status, errors: outcome.errors })}\n`;
  }
  return `${JSON.stringify({ line: outcome.line, status: outcome.status, id: encodeGlobalID('Article', outcome.id) })}\n`;
}

async function* once(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  yield chunk;
}

/** The longest body a POSTed export question may have (a filter at the input limits is far less). */
export const EXPORT_BODY_BYTES = 1024 * 1024;

type Refusal = { status: number; code: string; problem: string };
const NOT_A_FILTER: Refusal = {
  status: 400,
  code: 'BAD_USER_INPUT',
  problem: '"filter" must be the JSON of an ArticleFilter',
};

/** An export's filter (JSON text or a parsed value) as exportRecords takes it, or a refusal. */
function filterOf(value: unknown): { filter: Record<string, unknown> | null } | Refusal {
  if (value === null || value === undefined) return { filter: null };
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return NOT_A_FILTER;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return NOT_A_FILTER;
  return { filter: parsed as Record<string, unknown> };
}

/**
 * The question of `GET /export.*`: `filter` (JSON) and `search` query parameters, each at most
 * once; any other parameter is refused (400 BAD_USER_INPUT), since a misspelt `filter` would
 * otherwise export every article.
 */
function queriedQuestion(url: URL): ExportQuestion | Refusal {
  for (const name of new Set(url.searchParams.keys())) {
    const problem = !['filter', 'search'].includes(name)
      ? `Unknown parameter "${name.slice(0, 100)}": ${url.pathname} takes filter and search`
      : url.searchParams.getAll(name).length > 1
        ? `"${name}" is given more than once`
        : undefined;
    if (problem) return { status: 400, code: 'BAD_USER_INPUT', problem };
  }
  // `?filter=` is a filter left out by mistake more often than a wish for every article
  if (url.searchParams.get('filter') === '') {
    return { ...NOT_A_FILTER, problem: `${NOT_A_FILTER.problem} (leave it out for every article)` };
  }
  const filter = filterOf(url.searchParams.get('filter'));
  return 'problem' in filter ? filter : { ...filter, search: url.searchParams.get('search') };
}

/**
 * The question of `POST /export.*`: a JSON body `{ "filter": ArticleFilter, "search": String }`
 * (both optional; an empty body asks for everything), at most EXPORT_BODY_BYTES (413
 * PAYLOAD_TOO_LARGE), sent as `application/json` (415 UNSUPPORTED_MEDIA_TYPE otherwise: a form
 * or text body is not a question); anything else is refused with 400 BAD_USER_INPUT.
 */
async function postedQuestion(request: Request): Promise<ExportQuestion | Refusal> {
  const shape = '{ "filter": ArticleFilter, "search": String }';
  const type = request.headers.get('content-type');
  const json = type !== null && type.split(';')[0]!.trim().toLowerCase() === 'application/json';
  const wrongType: Refusal = {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    problem: `Send the question as application/json: ${shape}`,
  };
  if (type !== null && !json) return wrongType;
  const bytes = await readBodyBytes(request, EXPORT_BODY_BYTES).catch((error: unknown) => {
    if (error instanceof BodyNotReceived) return error;
    throw error;
  });
  if (bytes instanceof BodyNotReceived) return { status: 400, code: 'BAD_REQUEST', problem: bytes.message };
  if (bytes === null) {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', problem: `Send at most ${EXPORT_BODY_BYTES} bytes` };
  }
  if (bytes.length && !json) return wrongType;
  let body: unknown;
  try {
    body = bytes.length ? JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) : {};
  } catch {
    return { status: 400, code: 'BAD_USER_INPUT', problem: `The body must be UTF-8 JSON: ${shape}` };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { status: 400, code: 'BAD_USER_INPUT', problem: `The body must be a JSON object: ${shape}` };
  }
  const { filter, search, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    return { status: 400, code: 'BAD_USER_INPUT', problem: `Unknown field "${unknown.slice(0, 100)}": send ${shape}` };
  }
  if (search !== undefined && search !== null && typeof search !== 'string') {
    return { status: 400, code: 'BAD_USER_INPUT', problem: '"search" must be a string' };
  }
  if (typeof filter === 'string') return NOT_A_FILTER;
  const parsed = filterOf(filter);
  return 'problem' in parsed ? parsed : { ...parsed, search: search ?? null };
}

/**
 * Yoga plugin serving /export.ndjson, /export.csv and /import.ndjson (see above); `logFailure` logs
 * what failed: a database failure is answered 503, anything else 500 without details.
 * `suggestions: false` (production, as on /graphql: useSchemaExposure): no graphql-js "Did you
 * mean" in a refusal, which named the filter fields a misspelt one was close to.
 */
export function useTransfer(
  logFailure: (requestId: string, error: unknown) => void,
  options: { suggestions: boolean } = { suggestions: true },
): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      const route = /^\/(export\.ndjson|export\.csv|import\.ndjson)$/.exec(url.pathname)?.[1];
      if (!route) return;
      const json = (
        status: number,
        code: string,
        message: string,
        headers: Record<string, string> = {},
        extensions: Record<string, unknown> = {},
      ) =>
        endResponse(
          new fetchAPI.Response(
            JSON.stringify({
              errors: [
                {
                  message: options.suggestions ? message : withoutSuggestions(message),
                  extensions: { code, ...extensions },
                },
              ],
            }),
            {
              status,
              headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
            },
          ),
        );
      // an export's question fits a URL, or a JSON body when it does not (a URL past about 16 KB
      // is refused by Node's HTTP parser with an empty 431)
      // (HEAD wherever GET, RFC 9110 section 9.3.2: the same status and headers, no body)
      const methods = route.startsWith('export') ? ['GET', 'HEAD', 'POST'] : ['POST'];
      if (!methods.includes(request.method)) {
        return json(405, 'METHOD_NOT_ALLOWED', `${url.pathname} answers ${methods.join(', ')}`, {
          allow: methods.join(', '),
        });
      }
      // an import's outcomes so far: what a failure part-way through must not deny
      let filed: { created: number; updated: number; unchanged: number; rejected: number } | undefined;
      try {
        const viewer = await bulkViewer(request);
        if ('status' in viewer) {
          return json(viewer.status, viewer.code, viewer.message, {
            ...(viewer.status === 401 && { 'www-authenticate': 'Bearer realm="newsgraph"' }),
          });
        }
        if (route === 'import.ndjson') {
          // the import command names who imports (--as), as it does on its own; a key is its own name
          const as = url.searchParams.get('as');
          if (as !== null && (viewer !== LOCAL_VIEWER || !IMPORTER_NAME.test(as))) {
            return json(
              400,
              'BAD_USER_INPUT',
              viewer === LOCAL_VIEWER
                ? '"as" takes 1-100 characters, not blank, without control characters'
                : '"as" is for the import command (the local token): an API key records its own name',
            );
          }
          const importer = as === null ? viewer : { ...LOCAL_VIEWER, name: as };
          const body = await readBodyBytes(request, IMPORT_BODY_BYTES).catch((error: unknown) => {
            if (error instanceof BodyNotReceived) return error;
            throw error;
          });
          if (body instanceof BodyNotReceived) return json(400, 'BAD_REQUEST', body.message);
          if (body === null) {
            return json(413, 'PAYLOAD_TOO_LARGE', `Send at most ${IMPORT_BODY_BYTES} bytes per request`);
          }
          const counts = (filed = { created: 0, updated: 0, unchanged: 0, rejected: 0 });
          const lines: string[] = [];
          // the request's deadline holds for its batches (deadline.ts): answered 503 REQUEST_TIMEOUT
          // only while none has begun to commit, and then none will; once one has, the import is
          // answered in full when it ends. Its own share of connections: the batches in flight and
          // the statement that draws the next one's ids
          await withScope(
            new RequestScope({
              deadline: currentDeadline(),
              statementsAtOnce: 3,
              // who asked, for fair turns at the database (the HTTP server's scope names it)
              client: currentScope()?.client ?? clientKey(request.headers.get('authorization'), () => 'unknown'),
            }),
            async () => {
              const outcomes = importRecords(prisma, readRecords(once(body), 'ndjson'), importer);
              for await (const outcome of outcomes) {
                counts[outcome.status] += 1;
                lines.push(outcomeLine(outcome));
              }
            },
          );
          lines.push(`${JSON.stringify({ summary: counts })}\n`);
          return endResponse(
            new fetchAPI.Response(lines.join(''), {
              status: 200,
              headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' },
            }),
          );
        }
        // a POST's question is its body: a query string beside it would be ignored (and a filter
        // there, by a client that thinks otherwise, would export everything)
        if (request.method === 'POST' && url.search !== '') {
          return json(400, 'BAD_USER_INPUT', `POST ${url.pathname} takes its question as a JSON body, not in the URL`);
        }
        const question = request.method === 'POST' ? await postedQuestion(request) : queriedQuestion(url);
        if ('problem' in question) return json(question.status, question.code, question.problem);
        const csv = route === 'export.csv';
        const records = exportRecords(question, viewer);
        // the first page is read before answering, so that a refused filter is a 400
        let first: IteratorResult<Record<string, unknown>>;
        try {
          first = await outsideScope(() => records.next());
        } catch (error) {
          if (error instanceof UserInputError) return json(400, String(error.extensions.code), error.message);
          throw error;
        }
        const headers = {
          'content-type': csv ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8',
          'content-disposition': `attachment; filename="articles.${csv ? 'csv' : 'ndjson'}"`,
          'cache-control': 'no-store',
        };
        if (request.method === 'HEAD') {
          await outsideScope(() => records.return(undefined));
          return endResponse(new fetchAPI.Response(null, { status: 200, headers }));
        }
        let pending: IteratorResult<Record<string, unknown>> | null = first;
        let headerSent = !csv;
        const encoder = new TextEncoder();
        const stream = new fetchAPI.ReadableStream<Uint8Array>({
          async pull(controller) {
            try {
              if (!headerSent) {
                headerSent = true;
                controller.enqueue(encoder.encode(csvHeader()));
                return;
              }
              const next = pending ?? (await outsideScope(() => records.next()));
              pending = null;
              if (next.done) return controller.close();
              controller.enqueue(encoder.encode(csv ? csvRow(next.value) : ndjsonLine(next.value)));
            } catch (error) {
              logFailure(requestIdOf(request), error);
              controller.error(error);
            }
          },
          async cancel() {
            await records.return(undefined);
          },
        });
        return endResponse(new fetchAPI.Response(stream, { status: 200, headers }));
      } catch (error) {
        if (error instanceof RequestTimedOut) {
          // answered 503 by the request's timer already; its batches rolled back
          return json(503, 'REQUEST_TIMEOUT', 'The request timed out; nothing it would have written was written', {
            'retry-after': '5',
          });
        }
        logFailure(requestIdOf(request), error);
        const failure = databaseFailure(error);
        if (failure) {
          const done = filed ? filed.created + filed.updated + filed.unchanged : 0;
          if (filed && done > 0) {
            // batches committed before the failure stay filed; an import files a link once, so
            // sending the whole file again is safe (they come back unchanged)
            return json(
              503,
              'DATABASE_UNAVAILABLE',
              `The database failed part-way through the import: at least ${done} records were filed before it and stay filed; send the file again (filed records come back unchanged)`,
              { 'retry-after': '5' },
              { reason: failure.reason, filed },
            );
          }
          return json(
            503,
            'DATABASE_UNAVAILABLE',
            'The database is unavailable; retry shortly',
            { 'retry-after': '5' },
            { reason: failure.reason },
          );
        }
        // never a stack trace or SQL in the answer
        return json(500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
      }
    },
  };
}
