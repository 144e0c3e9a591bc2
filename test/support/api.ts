import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { onStatement } from '../../src/db/client.ts';
import { createServer } from '../../src/yoga.ts';

/** The server under test, called in-process through its fetch handler. */
export const yoga = createServer();

export interface Result<R> {
  status: number;
  data?: R | null;
  errors?: GraphQLFormattedError[];
}

export async function execute<R, V>(
  document: TypedDocumentNode<R, V>,
  variables?: V,
  headers: Record<string, string> = {},
): Promise<Result<R>> {
  const response = await yoga.fetch('http://newsgraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Result<R>, 'status'>) };
}

/** Executes and fails the test on any GraphQL error; returns the data. */
export async function query<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
  const result = await execute(document, variables);
  if (result.errors?.length || !result.data) {
    throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  }
  return result.data;
}

/** The error codes of a result, in order. */
export function codes(result: Result<unknown>): unknown[] {
  return (result.errors ?? []).map((error) => error.extensions?.code);
}

/** Runs `run` and returns the SQL statements it sent, with its result. */
export async function recordStatements<T>(run: () => Promise<T>): Promise<{ statements: string[]; result: T }> {
  const statements: string[] = [];
  const stop = onStatement((sql) => statements.push(sql));
  try {
    return { statements, result: await run() };
  } finally {
    stop();
  }
}

/**
 * Cursors a client may send a list in place of one it was given: Pothos' `GPC:` encodings of
 * values no id can be (a string, an object, a date, out of int4 range, negative, zero, a
 * fraction), and text that decodes to nothing. Every list answers each with INVALID_CURSOR.
 */
export const EDITED_CURSORS = [
  ...['GPC:S:1', 'GPC:N:abc', 'GPC:J:{}', 'GPC:D:1', 'GPC:N:99999999999', 'GPC:N:-1', 'GPC:N:0', 'GPC:N:1.5'].map(
    (text) => Buffer.from(text).toString('base64'),
  ),
  Buffer.from('["deletedAt:DESC",["not a date",1]]').toString('base64url'),
  'abc',
  '!!!',
];
