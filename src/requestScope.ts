import { AsyncLocalStorage } from 'node:async_hooks';
import pLimit, { type LimitFunction } from 'p-limit';
import { Counter } from 'prom-client';
import type { RequestDeadline } from './deadline.ts';

/**
 * What the database layer knows about the request it serves, carried by AsyncLocalStorage so
 * that it reaches every statement without being threaded through each call:
 * - the request's deadline (deadline.ts), which write transactions honour;
 * - a fair share of the database: at most `statementsAtOnce` statements of one request run at a
 *   time, so one request cannot hold every pooled connection while others wait.
 * Statements outside a request (start-up, migrations, the CLIs) have no scope and no limit.
 */
export class RequestScope {
  readonly deadline: RequestDeadline | undefined;
  private readonly limit: LimitFunction;
  /** Whether plain reads may go to a read replica: while the request runs queries only (db/replicas.ts). */
  readsFromReplica = false;
  /** A write of this request found the replicas late (REPLICA_WAIT_MS passed): later writes do not wait again. */
  replicasLate = false;
  /**
   * The server stopped reading the request's body before its end (http.ts readBodyBytes, past a
   * size limit): the connection cannot carry another request, so the answer closes it.
   */
  bodyAbandoned = false;
  /** The request's id (observability.ts requestIdOf), once the server has read it: for log lines outside execution. */
  requestId: string | undefined;
  /**
   * Who sent the request, for fair turns at the database's connections (db/fairTurns.ts): `key:`
   * and its Bearer token, else `address:` and the client's address; `unknown` when not given.
   */
  readonly client: string;
  private mutated = false;
  private kind: 'query' | 'mutation' | 'subscription' | undefined;
  private gone = false;
  private readonly abandonHooks = new Set<() => void>();

  constructor(options: { deadline?: RequestDeadline; statementsAtOnce: number; client?: string }) {
    this.deadline = options.deadline;
    this.client = options.client ?? 'unknown';
    this.limit = pLimit(Math.max(1, options.statementsAtOnce));
  }

  /**
   * Tells the scope which operation runs: a query's reads may use a replica; once a mutation has
   * run, every statement of the request uses the primary (a batch reads its own writes).
   */
  operation(kind: 'query' | 'mutation' | 'subscription'): void {
    if (kind === 'mutation') this.mutated = true;
    this.kind = kind;
    this.readsFromReplica = kind === 'query' && !this.mutated;
  }

  /**
   * The client closed its connection before the answer (http.ts withRequestScope). A request that
   * only reads is then abandoned: its waits for a database connection end (db/adapters.ts FairPool,
   * with ClientClosedRequest) and it takes no new one, so queued reads nobody will receive do not
   * hold others back. A request that writes, or whose operation is not known yet, runs on: what a
   * client sent and then left is still made (nothing a user wrote is lost).
   */
  clientGone(): void {
    if (this.gone) return;
    this.gone = true;
    if (!this.abandoned) return;
    abandonedQueries.inc();
    for (const hook of this.abandonHooks) hook();
    this.abandonHooks.clear();
  }

  /** The client has gone and the request only reads (a query that ran no mutation): see clientGone. */
  get abandoned(): boolean {
    return this.gone && this.kind === 'query' && !this.mutated;
  }

  /** Runs `hook` once, when the request is abandoned (clientGone); returns its removal. A hook must not throw. */
  onAbandoned(hook: () => void): () => void {
    this.abandonHooks.add(hook);
    return () => this.abandonHooks.delete(hook);
  }

  /** Runs one database statement of this request when one of its slots is free. */
  statement<T>(run: () => Promise<T>): Promise<T> {
    return this.limit(run);
  }

  /**
   * Takes one of this request's slots until the returned function is called (a transaction, from
   * before BEGIN to its end: one connection, whose statements run in it; see inHeldSlot). Calling
   * the function again does nothing.
   */
  hold(): Promise<() => void> {
    return new Promise((taken) => {
      void this.limit(() => new Promise<void>((release) => taken(() => release())));
    });
  }
}

/**
 * Queries whose client closed the connection before their answer (RequestScope.clientGone): their
 * reads still waiting for a connection were not run. Their errors (CLIENT_CLOSED_REQUEST, read by
 * nobody) are not counted as GraphQL errors. Registered by observability.ts createMetrics.
 */
export const abandonedQueries = new Counter({
  name: 'newsgraph_abandoned_queries_total',
  help: 'Queries whose client closed the connection before the answer (their waiting reads were not run)',
  registers: [],
});

/** A read of a request whose client closed the connection first (RequestScope.clientGone): not run, nobody would receive it. */
export class ClientClosedRequest extends Error {
  override name = 'ClientClosedRequest';
  constructor() {
    super('The client closed the connection before the answer; this read was not run');
  }
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `work` (and everything it starts) in `scope`. */
export function withScope<T>(scope: RequestScope, work: () => T): T {
  return storage.run(scope, work);
}

/** Runs `work` (and everything it starts) outside any request's scope: background work a request only started. */
export function outsideScope<T>(work: () => T): T {
  return storage.exit(work);
}

/** The scope of the request being served, if any. */
export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

/**
 * Runs `run`, which opens a transaction, in one of the request's slots, taken before it begins
 * (so no wait for it counts against the transaction's own time limits) and kept until it ends;
 * the transaction's statements take no other (db/client.ts). Outside a request, just runs it.
 */
export async function inHeldSlot<T>(run: () => Promise<T>): Promise<T> {
  const scope = currentScope();
  if (!scope) return run();
  const release = await scope.hold();
  try {
    return await run();
  } finally {
    release();
  }
}

/** The deadline of the request being served, if it has one (requests through the HTTP server do). */
export function currentDeadline(): RequestDeadline | undefined {
  return storage.getStore()?.deadline;
}
