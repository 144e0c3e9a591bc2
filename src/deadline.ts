/**
 * The request timeout and the commits of writes agree on one rule: a request answered 503
 * REQUEST_TIMEOUT wrote nothing. Each HTTP request runs with a RequestDeadline (in its
 * RequestScope, requestScope.ts, where the write helper finds it).
 * When the time is up and none of the request's transactions has begun to commit, the request
 * is answered 503 and from then on every transaction of it rolls back instead of committing.
 * When one has begun to commit (or has committed), the request is not cut short: it finishes
 * and answers with everything it wrote, late but true.
 */
export class RequestDeadline {
  private timedOut = false;
  private committing = 0;
  private committed = false;
  private readonly expiryHooks = new Set<() => void>();

  /**
   * Called when the time is up. True when the request may be answered 503 now (nothing is or
   * will be committed); false when a commit is under way or done, and the request must finish.
   */
  expire(): boolean {
    if (this.committing > 0 || this.committed) return false;
    this.timedOut = true;
    for (const hook of this.expiryHooks) hook();
    this.expiryHooks.clear();
    return true;
  }

  /**
   * Runs `hook` once, when the request is answered 503 (expire() returns true): for work that
   * would otherwise wait on in the database for a commit that will not happen. Returns the hook's
   * removal. A hook must not throw.
   */
  onExpire(hook: () => void): () => void {
    this.expiryHooks.add(hook);
    return () => this.expiryHooks.delete(hook);
  }

  /** The request was answered 503: no transaction of it may begin or commit. */
  get isExpired(): boolean {
    return this.timedOut;
  }

  /**
   * Called just before COMMIT: throws RequestTimedOut (so the transaction rolls back) once
   * answered 503. A `bookkeeping` write (a key's lastUsedAt) is refused the same way, but does
   * not keep the request from being answered 503 later.
   */
  beginCommit(bookkeeping = false): void {
    if (this.timedOut) throw new RequestTimedOut();
    if (!bookkeeping) this.committing += 1;
  }

  /** Called when a COMMIT begun with beginCommit(false) has finished, `ok` when it succeeded. */
  endCommit(ok: boolean): void {
    this.committing -= 1;
    if (ok) this.committed = true;
  }
}

/** The request was answered 503 REQUEST_TIMEOUT before this transaction committed; it was rolled back. */
export class RequestTimedOut extends Error {
  override name = 'RequestTimedOut';
  constructor() {
    super('The request timed out; this write was rolled back');
  }
}
