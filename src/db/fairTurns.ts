/**
 * Turns at a pool's connections, shared fairly between clients: while every connection is taken,
 * waiting clients are served in rotation (round robin, one turn each), not in order of arrival.
 * With arrival order, one client with several slow statements queued (or several requests at once)
 * made every other client wait for all of them: on the embedded database, which has one
 * connection, two anonymous 2.5 s statements made a simple read wait past DB_CONNECT_TIMEOUT_MS
 * (503). In rotation, a client waits for at most one turn of each other waiting client.
 *
 * A client is what the request scope names (requestScope.ts `client`: its API key, else its
 * address); statements outside a request share one client, `background`.
 */
export class FairTurns {
  private taken = 0;
  /** Waiters by client, each client's in arrival order; a client is here while it has waiters. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Clients with waiters, in rotation: the next turn goes to the first. */
  private readonly rotation: string[] = [];

  /**
   * @param size connections (turns) at once.
   * @param waitMs longest wait for a turn (0: none); past it, take() rejects with `timeoutError()`.
   * @param timeoutError the error a wait past `waitMs` rejects with (the pool's own, so that callers
   *   map it as they map the pool's: 503 `DATABASE_UNAVAILABLE`, reason `pool`).
   */
  constructor(
    private readonly size: number,
    private readonly waitMs: number,
    private readonly timeoutError: () => Error,
  ) {}

  /**
   * Resolves when `client` has a turn; give it back with free(), once. `watch`, called only when the
   * client must wait, may cancel the wait (the waiter leaves the queue and the promise rejects with
   * the reason given) and returns how to stop watching, called once the wait ends.
   */
  take(client: string, watch?: (cancel: (reason: Error) => void) => () => void): Promise<void> {
    if (this.taken < this.size && this.rotation.length === 0) {
      this.taken += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      let unwatch = (): void => undefined;
      let settled = false;
      const waiter: Waiter = {
        resolve: () => {
          settled = true;
          unwatch();
          resolve();
        },
        timer: undefined,
      };
      const leave = (reason: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(waiter.timer);
        unwatch();
        this.remove(client, waiter);
        reject(reason);
      };
      if (this.waitMs > 0) waiter.timer = setTimeout(() => leave(this.timeoutError()), this.waitMs);
      if (watch) unwatch = watch(leave);
      const queue = this.waiting.get(client);
      if (queue) queue.push(waiter);
      else {
        this.waiting.set(client, [waiter]);
        this.rotation.push(client);
      }
    });
  }

  /** Gives a turn back: the next waiting client in rotation takes it. */
  free(): void {
    this.taken -= 1;
    const client = this.rotation.shift();
    if (client === undefined) return;
    const queue = this.waiting.get(client)!;
    const waiter = queue.shift()!;
    // a client with more waiting goes to the back of the rotation
    if (queue.length) this.rotation.push(client);
    else this.waiting.delete(client);
    clearTimeout(waiter.timer);
    this.taken += 1;
    waiter.resolve();
  }

  /** Waits not yet given a turn, of every client. */
  waitingCount(): number {
    let count = 0;
    for (const queue of this.waiting.values()) count += queue.length;
    return count;
  }

  /** Turns taken and clients waiting, for tests. */
  state(): { taken: number; waiting: Record<string, number> } {
    return {
      taken: this.taken,
      waiting: Object.fromEntries([...this.waiting].map(([client, queue]) => [client, queue.length])),
    };
  }

  private remove(client: string, waiter: Waiter): void {
    const queue = this.waiting.get(client);
    const at = queue ? queue.indexOf(waiter) : -1;
    if (!queue || at < 0) return;
    queue.splice(at, 1);
    if (queue.length) return;
    this.waiting.delete(client);
    this.rotation.splice(this.rotation.indexOf(client), 1);
  }
}

interface Waiter {
  resolve: () => void;
  timer: NodeJS.Timeout | undefined;
}
