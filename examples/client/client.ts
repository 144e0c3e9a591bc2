import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

/**
 * A typed GraphQL client for trusted documents: it sends a document's id (the SHA-256 hash the
 * codegen put in `document.__meta__.hash`), never its text, as GraphQL over HTTP's persisted
 * documents proposal writes it (`{ documentId, variables }`), and returns the data typed by the
 * document. Errors: `GraphQLRequestError` with the HTTP status and the server's errors.
 */

/** A failed request: the HTTP status and the errors the server answered. */
export class GraphQLRequestError extends Error {
  constructor(
    readonly status: number,
    readonly errors: readonly { message: string; extensions?: Record<string, unknown> }[],
  ) {
    super(`GraphQL request failed (HTTP ${status}): ${errors.map((error) => error.message).join('; ')}`);
  }
}

/** Where the API is, how to reach it (a fetch function: the global one by default) and the key, if any. */
export interface ClientOptions {
  url: string;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** An API key, sent as `Authorization: Bearer <key>`. */
  key?: string;
}

/** Runs one persisted document with its variables; resolves with its data. */
export async function execute<Data, Variables>(
  options: ClientOptions,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const documentId = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!documentId) throw new Error('This document has no persisted hash: run `npm run codegen`');
  const response = await (options.fetch ?? fetch)(options.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
    },
    body: JSON.stringify({ documentId, variables }),
  });
  const body = (await response.json()) as { data?: Data | null; errors?: GraphQLRequestError['errors'] };
  if (!response.ok || body.errors?.length || body.data == null) {
    throw new GraphQLRequestError(response.status, body.errors ?? []);
  }
  return body.data;
}
