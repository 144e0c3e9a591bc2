import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { databaseFailure, refusedValue, type DatabaseFailure } from './db/errors.ts';
import { RequestTimedOut } from './deadline.ts';
import { ClientClosedRequest } from './requestScope.ts';
import { ErrorCode } from './errors.ts';
import { MAX_PAGE_SIZE } from './resolvers/lists/connection.ts';

/**
 * The errors a client sees for what went wrong outside its control (the database) and for the
 * client errors graphql-js and Pothos report without a code: used by the GraphQL endpoint
 * (yoga.ts) and by what executes the schema itself (the export, transfer/export.ts).
 */

const DATABASE_MESSAGES: Record<DatabaseFailure['reason'], { message: string; retryAfter: number }> = {
  unreachable: { message: 'The database is unavailable; retry shortly', retryAfter: 5 },
  busy: { message: 'The database has no connection to spare; retry shortly', retryAfter: 1 },
  pool: { message: 'No database connection became free in time (the API is busy); retry shortly', retryAfter: 1 },
  'connection lost': { message: 'The connection to the database was lost; retry', retryAfter: 1 },
  contention: { message: 'Conflicting writes kept this one from finishing; nothing was written, retry', retryAfter: 1 },
  'schema changed': { message: 'A table changed while this request ran (a migration); retry', retryAfter: 1 },
  'commit unknown': {
    message:
      'The connection to the database was lost while this write was committing, and whether it was made could not be told: read it back before writing it again',
    retryAfter: 5,
  },
  statement: {
    message: 'The query ran past the time limit for one statement and was stopped; narrow it (filter, page size)',
    retryAfter: 1,
  },
  lock: { message: 'The data was locked by other writes for too long; nothing was written, retry', retryAfter: 1 },
  transaction: {
    message: 'The transaction took too long and was rolled back; nothing was written, retry',
    retryAfter: 1,
  },
};

/**
 * The client-facing error for a database that is unavailable or too slow: HTTP 503 with
 * Retry-After (seconds), code DATABASE_UNAVAILABLE or DATABASE_TIMEOUT and `reason` (what timed
 * out or failed: statement, lock, transaction, pool, busy, unreachable, connection lost,
 * contention, schema changed, commit unknown); no detail of the cause (hosts, SQL) reaches the client.
 */
export function databaseError(failure: DatabaseFailure, error?: GraphQLError): GraphQLError {
  const { message, retryAfter } = DATABASE_MESSAGES[failure.reason];
  return recoded(error, message, {
    code: failure.code,
    reason: failure.reason,
    retryAfter,
    http: { status: 503, headers: { 'Retry-After': String(retryAfter) } },
  });
}

/**
 * A new error in `error`'s place (its nodes, positions and path; none without it), with `message`
 * and `extensions`: what the client is told instead.
 */
function recoded(error: GraphQLError | undefined, message: string, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, {
    nodes: error?.nodes,
    source: error?.source,
    positions: error?.positions,
    path: error?.path,
    extensions,
  });
}

/**
 * What graphql-js 16's getArgumentValues says of an argument value it refuses (its only errors):
 * null for a non-null type, a variable with no value for a required one, a literal of the wrong
 * kind.
 */
const ARGUMENT_VALUE_REFUSED =
  /^Argument "\w+" (of non-null type "[^"]+" must not be null|of required type "[^"]+" (was not provided|was provided the variable "\$\w+" which was not provided a runtime value)|has invalid value .*)\.$/s;

/**
 * Gives client errors that arrive without a code their code, before error masking sees them
 * (so they are neither masked nor logged as server faults):
 * - the database unavailable or too slow: DATABASE_UNAVAILABLE / DATABASE_TIMEOUT, HTTP 503;
 * - a write rolled back because the request was answered 503 REQUEST_TIMEOUT meanwhile;
 * - Pothos reports a global ID of the wrong type for `t.arg.globalID({ for })`, a node ID of a
 *   type that is not a node, or a cursor it cannot decode, as a PothosValidationError;
 * - graphql-js reports variables that do not coerce (`$first: 2.5` for an Int), and argument
 *   values it refuses as a field runs (`null` for an `Int! = 30`), without a code;
 * - the database refuses a value our checks let through (refusedValue): STORE_REFUSED, which the
 *   server logs as well (yoga.ts useClientErrorCodes).
 */
export function codeClientError(error: GraphQLError): GraphQLError {
  if (error.extensions?.code != null) return error;
  const original = error.originalError;
  const failure = databaseFailure(original);
  if (failure) return databaseError(failure, error);
  const refused = refusedValue(original);
  if (refused) {
    // the client learns its value was refused (the server logs it too, as a check we lack:
    // useClientErrorCodes)
    return recoded(error, `The database refused a value of this request (SQLSTATE ${refused}); nothing was written`, {
      code: ErrorCode.STORE_REFUSED,
    });
  }
  let code: ErrorCode | 'REQUEST_TIMEOUT' | 'CLIENT_CLOSED_REQUEST' | undefined;
  // (only after the request was answered 503: nobody reads this one)
  if (original instanceof RequestTimedOut) code = 'REQUEST_TIMEOUT';
  // (only after the client closed the connection: nobody reads this one either)
  else if (original instanceof ClientClosedRequest) code = 'CLIENT_CLOSED_REQUEST';
  else if (original instanceof PothosValidationError) {
    // "ID: <the client's text> is not of type: Author": say it without echoing the text
    const wrongType = /^ID: .* is not of type: ([\w, ]+)$/s.exec(original.message);
    if (wrongType) {
      return recoded(error, `Not a valid ID of type ${wrongType[1]}`, { code: ErrorCode.INVALID_ID });
    }
    // a page size Pothos's connections refuse before our resolver sees it (`first: -1`): as
    // every list answers it (lists/connection.ts checkSize)
    const size = /^Argument "(first|last)" must be a non-negative integer$/.exec(original.message);
    if (size) {
      return recoded(error, `"${size[1]}" must be between 0 and ${MAX_PAGE_SIZE}`, {
        code: ErrorCode.INVALID_PAGE_SIZE,
        argumentName: size[1],
        max: MAX_PAGE_SIZE,
      });
    }
    // a cursor Pothos cannot decode ("Invalid cursor: <the client's text>", a chunk of an unknown type)
    if (/cursor/i.test(original.message)) {
      return recoded(error, 'Not a cursor of this list', { code: ErrorCode.INVALID_CURSOR });
    }
    code = /\bid\b/i.test(original.message) ? ErrorCode.INVALID_ID : ErrorCode.BAD_USER_INPUT;
  } else if (!error.path && (!original || original instanceof GraphQLError)) code = ErrorCode.BAD_USER_INPUT;
  // graphql-js refuses an argument's value at execution, as the field runs, in words of its own
  // (getArgumentValues): `null` for an `Int! = 30` argument, through a nullable variable
  else if (original instanceof GraphQLError && ARGUMENT_VALUE_REFUSED.test(original.message)) {
    code = ErrorCode.BAD_USER_INPUT;
  }
  if (!code) return error;
  return recoded(error, error.message, { ...error.extensions, code });
}
