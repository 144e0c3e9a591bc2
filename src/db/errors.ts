import { Prisma } from '../generated/prisma/client.ts';

/**
 * What a database error means for the caller, whichever driver raised it: Prisma wraps the
 * driver adapter's error (adapter-pg or the PGlite adapter), whose `cause` carries PostgreSQL's
 * SQLSTATE (Appendix A of the PostgreSQL manual) or a connection failure kind; pg-pool raises
 * plain errors of its own when no connection can be had.
 */

interface DriverCause {
  kind?: string;
  code?: string;
  originalCode?: string;
}

function driverCause(error: unknown): DriverCause | undefined {
  // the adapter's own error, as a transaction's statements may raise it unwrapped
  if (error instanceof Error && error.name === 'DriverAdapterError') return (error as { cause?: DriverCause }).cause;
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return undefined;
  return (error.meta as { driverAdapterError?: { cause?: DriverCause } } | undefined)?.driverAdapterError?.cause;
}

/**
 * A prepared statement whose result columns changed type since it was prepared (SQLSTATE 0A000,
 * "cached plan must not change result type"): a migration altered a table while this process
 * served. The statement must be prepared again; the request may simply be retried.
 */
export function isStalePlan(error: unknown): boolean {
  if (sqlState(error) !== '0A000') return false;
  const cause = driverCause(error) as { message?: string } | undefined;
  return /cached plan must not change result type/.test(`${cause?.message ?? ''} ${(error as Error).message}`);
}

/** The driver's message of a failed statement ('' when there is none). */
function causeMessage(error: unknown): string {
  return (driverCause(error) as { message?: string } | undefined)?.message ?? '';
}

/** The SQLSTATE of a failed statement (e.g. `23505`), when the database answered with one. */
export function sqlState(error: unknown): string | undefined {
  const cause = driverCause(error);
  return cause?.originalCode ?? cause?.code;
}

/**
 * The SQLSTATE of a statement the database refused for a value it was given, which our checks let
 * through: a data exception (class 22), a CHECK constraint (23514; the other integrity violations,
 * unique and foreign key, are answered by the writes themselves) or a limit of the database
 * (class 54, such as a tsvector or an index entry too long); undefined for anything else.
 */
export function refusedValue(error: unknown): string | undefined {
  const state = sqlState(error);
  return state !== undefined && /^(22|54|23514$)/.test(state) ? state : undefined;
}

/** A unique index refused the row (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return (
    (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') || sqlState(error) === '23505'
  );
}

/** A foreign key refused the row (SQLSTATE 23503): what it points at is gone. */
export function isForeignKeyViolation(error: unknown): boolean {
  return (
    (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2003') || sqlState(error) === '23503'
  );
}

/**
 * A transaction PostgreSQL aborted so that it may be run again: serialization failure (40001)
 * or deadlock (40P01). Both drivers report them as a write conflict (Prisma P2034).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034') return true;
  const state = sqlState(error);
  return state === '40001' || state === '40P01';
}

/**
 * A write whose COMMIT was sent but not answered (the connection dropped), and whose outcome the
 * database could not be asked about (commitOutcome, writing/transaction.ts): it may have been made.
 */
export class CommitOutcomeUnknown extends Error {
  override name = 'CommitOutcomeUnknown';
  constructor(cause: unknown) {
    super('The connection was lost while committing, and the database could not be asked whether the write was made', {
      cause,
    });
  }
}

/** Conflicting writes kept aborting one write; nothing was written. Try again shortly. */
export class WriteContention extends Error {
  override name = 'WriteContention';
  constructor(attempts: number, cause: unknown) {
    super(`Gave up after ${attempts} attempts on conflicting writes`, { cause });
  }
}

/**
 * What databaseFailure makes of an error: the client-facing `code` (answered with HTTP 503 by
 * yoga.ts) and the `reason`, which is what failed or timed out.
 */
export type DatabaseFailure =
  /**
   * No connection could be had or kept: refused or unreachable, the server out of connections
   * (busy), none of the pool's free within DB_CONNECT_TIMEOUT_MS (pool), reset, terminated or
   * shutting down (connection lost); or conflicting writes kept aborting a write (contention).
   */
  | {
      code: 'DATABASE_UNAVAILABLE';
      reason: 'unreachable' | 'busy' | 'pool' | 'connection lost' | 'contention' | 'schema changed' | 'commit unknown';
    }
  /** The database cancelled work that took too long: a statement, a lock wait, a transaction. */
  | { code: 'DATABASE_TIMEOUT'; reason: 'statement' | 'lock' | 'transaction' };

/** Prisma's own codes for a database it cannot reach or talk to. */
const UNREACHABLE = new Set(['P1001', 'P1002', 'P1010', 'P1011', 'P1017']);
const DRIVER_UNREACHABLE = new Set(['DatabaseNotReachable', 'TlsConnectionError', 'DatabaseDoesNotExist']);
const DRIVER_LOST = new Set(['ConnectionClosed', 'SocketTimeout']);
/** pg and pg-pool raise these as plain errors, outside any statement. */
const POOL_TIMEOUT = /timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;
const CONNECTION_LOST =
  /Connection terminated|Client has encountered a connection error|ECONNRESET|ECONNREFUSED|connect ENOENT|write EPIPE/i;

/** Classifies an error as the database being unavailable or too slow; undefined for anything else. */
export function databaseFailure(error: unknown): DatabaseFailure | undefined {
  if (error instanceof WriteContention) return { code: 'DATABASE_UNAVAILABLE', reason: 'contention' };
  if (error instanceof CommitOutcomeUnknown) return { code: 'DATABASE_UNAVAILABLE', reason: 'commit unknown' };
  const state = sqlState(error);
  if (state === '57014') return { code: 'DATABASE_TIMEOUT', reason: 'statement' };
  if (state === '55P03') return { code: 'DATABASE_TIMEOUT', reason: 'lock' };
  if (state === '25P03' || state === '25P04') return { code: 'DATABASE_TIMEOUT', reason: 'transaction' };
  // 08: connection exception; 57P01-57P05: shut down, crashed, starting, idle timeouts
  if (state && (state.startsWith('08') || /^57P0[1-5]$/.test(state))) {
    return { code: 'DATABASE_UNAVAILABLE', reason: 'connection lost' };
  }
  // too many connections, configuration limit exceeded, out of shared memory (lock table full)
  if (state === '53300' || state === '53400' || state === '53200')
    return { code: 'DATABASE_UNAVAILABLE', reason: 'busy' };
  // 55000 is broad (object not in prerequisite state): only the database refusing connections
  // (ALTER DATABASE ... ALLOW_CONNECTIONS false, or a template database) means it is unavailable
  if (
    state === '55000' &&
    /not currently accepting connections/.test(`${causeMessage(error)} ${(error as Error).message}`)
  ) {
    return { code: 'DATABASE_UNAVAILABLE', reason: 'unreachable' };
  }
  if (isStalePlan(error)) return { code: 'DATABASE_UNAVAILABLE', reason: 'schema changed' };
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNREACHABLE.has(error.code)) return { code: 'DATABASE_UNAVAILABLE', reason: 'unreachable' };
    if (error.code === 'P2024') return { code: 'DATABASE_UNAVAILABLE', reason: 'pool' };
    // an interactive transaction that outlived its timeout
    if (error.code === 'P2028') return { code: 'DATABASE_TIMEOUT', reason: 'transaction' };
    const kind = driverCause(error)?.kind;
    if (kind && DRIVER_UNREACHABLE.has(kind)) return { code: 'DATABASE_UNAVAILABLE', reason: 'unreachable' };
    if (kind && DRIVER_LOST.has(kind)) return { code: 'DATABASE_UNAVAILABLE', reason: 'connection lost' };
    if (kind === 'TooManyConnections') return { code: 'DATABASE_UNAVAILABLE', reason: 'busy' };
    return undefined;
  }
  if (error instanceof Prisma.PrismaClientInitializationError) {
    return { code: 'DATABASE_UNAVAILABLE', reason: 'unreachable' };
  }
  if (error instanceof Error && !(error instanceof Prisma.PrismaClientValidationError)) {
    if (POOL_TIMEOUT.test(error.message)) return { code: 'DATABASE_UNAVAILABLE', reason: 'pool' };
    if (
      CONNECTION_LOST.test(error.message) ||
      /^E(CONNREFUSED|CONNRESET|NOTFOUND|PIPE)$/.test(String((error as { code?: unknown }).code))
    ) {
      return { code: 'DATABASE_UNAVAILABLE', reason: 'connection lost' };
    }
  }
  return undefined;
}

/** The driver's own words for a failed connection, after a colon, or nothing. */
function causeOf(error: unknown): string {
  const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
  const line = (message.split('\n').find((text) => text.trim()) ?? '').trim();
  return line && line.length < 200 && !/^Invalid `/.test(line) ? `: ${line}` : '';
}

/**
 * What a server said when it refused a connection (SQLSTATE class 28, invalid authorization;
 * 3D000, no such database; or an SSL refusal), in one line; null for any other error.
 */
export function connectionRefusal(error: unknown): string | null {
  // through Prisma the server's words are in the driver adapter's error
  const cause = (
    error as { meta?: { driverAdapterError?: { cause?: { originalCode?: string; originalMessage?: string } } } }
  )?.meta?.driverAdapterError?.cause;
  if (cause?.originalMessage && /^(28|3D)/.test(cause.originalCode ?? '')) return cause.originalMessage;
  const text = String(error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : error);
  const known =
    /(role "[^"]*" does not exist|database "[^"]*" does not exist|password authentication failed[^\n]*|no pg_hba\.conf entry[^\n]*|The server does not support SSL connections|SSL[^\n]*required[^\n]*)/i.exec(
      text,
    );
  return known ? known[1]! : null;
}

/**
 * One line on why the database could not be used at start-up, or null when `error` is not a
 * connection failure: the server's refusal (no such role or database, authentication, SSL), or
 * "cannot reach the database (reason: the driver's words)".
 */
export function connectionProblem(error: unknown): string | null {
  const refusal = connectionRefusal(error);
  if (refusal) return `the database refused the connection: ${refusal}`;
  const failure = databaseFailure(error);
  if (failure?.code === 'DATABASE_UNAVAILABLE') return `cannot reach the database (${failure.reason}${causeOf(error)})`;
  return null;
}
