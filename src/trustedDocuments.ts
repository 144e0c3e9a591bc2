import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
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

function documentIdOf(params: GraphQLParams, request: Request): string | null {
  // POST bodies carry it among the params; Yoga's GET parser keeps only the standard ones
  const id =
    (params as GraphQLParams & { documentId?: unknown }).documentId ??
    (request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null);
  if (typeof id === 'string') return id;
  const apq = (params.extensions as { persistedQuery?: { version?: number; sha256Hash?: unknown } } | undefined)
    ?.persistedQuery;
  return apq?.version === 1 && typeof apq.sha256Hash === 'string' ? apq.sha256Hash : null;
}

const refusal = (message: string, code: string) => ({ message, extensions: { code, http: { status: 400 } } });

/** The Yoga plugin for `settings`; none without a manifest. */
export function useTrustedDocuments(settings: TrustedDocumentSettings): Plugin | undefined {
  const documents = settings.documents;
  if (!documents) return undefined;
  return usePersistedOperations({
    getPersistedOperation: (id) => documents.get(id) ?? null,
    allowArbitraryOperations: !settings.only,
    extractPersistedOperationId: documentIdOf,
    customErrors: {
      notFound: refusal('No trusted document has this documentId', 'PERSISTED_QUERY_NOT_FOUND'),
      persistedQueryOnly: refusal(
        'This server runs only trusted documents: send a documentId instead of the query',
        'PERSISTED_QUERY_ONLY',
      ),
      keyNotFound: refusal('Send a query, or the documentId of a trusted document', 'BAD_REQUEST'),
    },
  });
}
