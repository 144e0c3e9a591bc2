import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { TrustedDocumentSettings } from './config.ts';

/**
 * Trusted documents (persisted operations, @graphql-yoga/plugin-persisted-operations): a client
 * sends a document's id instead of its text, as GraphQL over HTTP's persisted documents proposal
 * writes it (`{ "documentId": "<sha256>", "variables": {...} }`), or as Apollo's automatic
 * persisted queries do (`extensions.persistedQuery.sha256Hash`); the server runs the text the
 * manifest (TRUSTED_DOCUMENTS) holds for that id. With TRUSTED_DOCUMENTS_ONLY a request with a
 * query text is refused: production runs only the documents its clients were built with.
 *
 * Errors (HTTP 400, nothing runs): PERSISTED_QUERY_NOT_FOUND (an id the manifest does not hold),
 * PERSISTED_QUERY_ONLY (a query text when only trusted documents run), BAD_REQUEST (neither).
 */

/** The request body parameter that carries a document id (besides query, variables, operationName, extensions). */
export const DOCUMENT_ID_PARAM = 'documentId';

function documentIdOf(params: GraphQLParams, request?: Request): string | null {
  // POST bodies carry it among the params; Yoga's GET parser keeps only the standard ones
  const id =
    (params as GraphQLParams & { documentId?: unknown }).documentId ??
    (request?.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null);
  if (typeof id === 'string') return id;
  const apq = (params.extensions as { persistedQuery?: { version?: number; sha256Hash?: unknown } } | undefined)
    ?.persistedQuery;
  return apq?.version === 1 && typeof apq.sha256Hash === 'string' ? apq.sha256Hash : null;
}

const refusal = (message: string, code: string) => ({ message, extensions: { code, http: { status: 400 } } });
const NOT_FOUND = refusal('No trusted document has this documentId', 'PERSISTED_QUERY_NOT_FOUND');
const ONLY = refusal(
  'This server runs only trusted documents: send a documentId instead of the query',
  'PERSISTED_QUERY_ONLY',
);

/**
 * The document a GraphQL over WebSocket `subscribe` message runs, by the rules HTTP requests
 * follow (graphql-ws does not run Yoga's request hooks): with a manifest, a `documentId` in the
 * payload (or `extensions.persistedQuery.sha256Hash`) names it, and graphql-ws's required `query`
 * is then ignored (send ""); without an id, the query text, unless only trusted documents run.
 * A GraphQLError (PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_ONLY) when refused.
 */
export function trustedDocumentText(
  settings: TrustedDocumentSettings,
  payload: { query: string; extensions?: Record<string, unknown> | null },
): string | GraphQLError {
  const documents = settings.documents;
  if (!documents) return payload.query;
  const id = documentIdOf(payload as GraphQLParams);
  if (id !== null) {
    const text = documents.get(id);
    return text ?? new GraphQLError(NOT_FOUND.message, { extensions: NOT_FOUND.extensions });
  }
  return settings.only ? new GraphQLError(ONLY.message, { extensions: ONLY.extensions }) : payload.query;
}

/** The Yoga plugin for `settings`; none without a manifest. */
export function useTrustedDocuments(settings: TrustedDocumentSettings): Plugin | undefined {
  const documents = settings.documents;
  if (!documents) return undefined;
  return usePersistedOperations({
    getPersistedOperation: (id) => documents.get(id) ?? null,
    allowArbitraryOperations: !settings.only,
    extractPersistedOperationId: documentIdOf,
    customErrors: {
      notFound: NOT_FOUND,
      persistedQueryOnly: ONLY,
      keyNotFound: refusal('Send a query, or the documentId of a trusted document', 'BAD_REQUEST'),
    },
  });
}
