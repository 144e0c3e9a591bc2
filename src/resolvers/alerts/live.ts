import { setTimeout as sleep } from 'node:timers/promises';
import { GraphQLError } from 'graphql';
import { Repeater } from 'graphql-yoga';
import type { Db } from '../../db/client.ts';
import { intArray } from '../../db/arrays.ts';
import { databaseFailure } from '../../db/errors.ts';
import { outsideScope } from '../../requestScope.ts';
import { subscribeEvents, type ArticleEventMessage } from './events.ts';
import { MAX_EVENTS_PER_STATEMENT, newMatchesOfEach, watchKey, type Watch } from './match.ts';

/**
 * Live updates: the subscriptions of this process. One listener per process reads the event
 * stream (events.ts) and, per event, asks the database once which of the questions being
 * watched here it newly matches (match.ts), then pushes to each subscriber of those questions.
 */

/** What a subscriber receives: the article newly matching, and whether it was created or updated into the question. */
export interface LiveMatch {
  articleId: number;
  reason: 'CREATED' | 'UPDATED';
  /**
   * The article's rows loaded for this event, by selection: shared by every subscriber the event
   * goes to, so a thousand subscribers asking for the same fields cost one statement, not a thousand.
   */
  loads: Map<string, Promise<unknown>>;
}

/**
 * A subscriber: `push` takes each match; `fail` ends its stream with an error; `keyId` is the API
 * key it subscribed with (none: anonymous).
 */
interface Listener {
  push(match: LiveMatch): void;
  fail(error: GraphQLError): void;
  keyId?: number;
}

/**
 * The error a subscription ends with when the API key it subscribed with is revoked (or deleted):
 * UNAUTHENTICATED, as HTTP answers that key (401). Checked before each match is sent, so nothing
 * reaches the subscriber once the revocation has committed, whichever process revoked it.
 */
export function keyRevoked(): GraphQLError {
  return new GraphQLError('The API key of this subscription was revoked: subscribe again with a live key', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
}

/**
 * The waits (ms) before each new try of a failed matching statement (so length + 1 tries): a
 * database that blinks (a dropped connection, a failover) costs subscribers a delay, not matches.
 */
export const MATCH_RETRY_DELAYS_MS = [100, 500];

/**
 * The error a subscription ends with when its events could not be matched after every try: the
 * matches of those events are not known, so the client must subscribe again and read what it
 * missed (the list, newest first, down to its last match). DATABASE_UNAVAILABLE or
 * DATABASE_TIMEOUT with `reason` when the database failed; INTERNAL_SERVER_ERROR otherwise.
 */
export function matchingFailed(error: unknown): GraphQLError {
  const failure = databaseFailure(error);
  return new GraphQLError(
    'New articles could not be matched against this subscription, so matches may have been missed: subscribe again, and read the articles filed since the last match',
    { extensions: failure ? { code: failure.code, reason: failure.reason } : { code: 'INTERNAL_SERVER_ERROR' } },
  );
}

/** Events waiting to be matched, at most (the oldest are dropped past it, for live subscribers only). */
const BACKLOG = 10_000;

/** Matches one subscriber may have waiting for its client to read them. */
export const SUBSCRIBER_BUFFER = 256;

/** The questions watched in this process, and the loop that matches events against them. */
export class LiveMatcher {
  private readonly watched = new Map<string, { watch: Watch; listeners: Set<Listener> }>();
  private stream: AsyncIterator<ArticleEventMessage> | undefined;
  private readonly stops = new Set<() => void>();
  private readonly backlog: ArticleEventMessage[] = [];
  private draining = false;

  /**
   * @param onError told of every failure of the matching loop (the event stream, a matching
   *   statement, a subscriber); the process sets it to its logger (startAlerts, src/alerts.ts).
   */
  constructor(
    private readonly db: Db,
    public onError: (error: unknown) => void = () => {},
  ) {}

  /**
   * The new matches of `watch`, until the iterator is returned (at once, even while it waits for
   * the next match) or closeAll; then `onEnd` runs, once. A subscriber that falls more than
   * SUBSCRIBER_BUFFER matches behind (its client stopped reading) is ended with an error
   * (SLOW_CONSUMER) rather than holding matches without bound or holding up the others. With
   * `keyId` (the subscriber's API key), the stream ends with keyRevoked instead of the next match
   * once that key is revoked.
   */
  matches(watch: Watch, onEnd: () => void = () => {}, keyId?: number): AsyncIterableIterator<LiveMatch> {
    // once, whichever way it ends: a Repeater returned (or thrown into) before its first next()
    // never runs its executor, so the executor's `finally` alone would leave onEnd uncalled (a
    // subscription ended at once by its client kept its slot for ever: SUBSCRIPTIONS_PER_*)
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      onEnd();
    };
    const repeater = new Repeater<LiveMatch>(async (push, stop) => {
      let behind = 0;
      const remove = this.add(watch, {
        keyId,
        fail: (error) => void stop(error),
        push: (match) => {
          if (behind >= SUBSCRIBER_BUFFER) {
            stop(
              new GraphQLError(
                `This subscription fell ${SUBSCRIBER_BUFFER} matches behind (its stream was not read) and was ended`,
                {
                  extensions: { code: 'SLOW_CONSUMER' },
                },
              ),
            );
            return;
          }
          behind += 1;
          // resolves once the client's stream takes the match
          void push(match).then(
            () => (behind -= 1),
            () => undefined,
          );
        },
      });
      this.stops.add(stop);
      try {
        await stop;
      } finally {
        this.stops.delete(stop);
        remove();
        end();
      }
    });
    return {
      next: (...args) => repeater.next(...args),
      return: (value) => {
        end();
        return repeater.return(value);
      },
      throw: (error) => {
        end();
        return repeater.throw(error);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Ends every subscription of this process (shutdown: their streams complete). */
  closeAll(): void {
    for (const stop of [...this.stops]) stop();
  }

  private add(watch: Watch, listener: Listener): () => void {
    const key = watchKey(watch);
    let entry = this.watched.get(key);
    if (!entry) this.watched.set(key, (entry = { watch, listeners: new Set() }));
    entry.listeners.add(listener);
    if (!this.stream) this.listen();
    return () => {
      entry.listeners.delete(listener);
      if (!entry.listeners.size && this.watched.get(key) === entry) this.watched.delete(key);
      if (!this.watched.size) this.quiet();
    };
  }

  private listen(): void {
    // the loop outlives the request that started it: it must not run in that request's scope
    outsideScope(() => {
      const stream = subscribeEvents()[Symbol.asyncIterator]();
      this.stream = stream;
      void (async () => {
        for (;;) {
          const next = await stream.next();
          if (next.done) return;
          this.backlog.push(next.value);
          if (this.backlog.length > BACKLOG) this.backlog.splice(0, this.backlog.length - BACKLOG);
          this.drain();
        }
      })().catch((error: unknown) => {
        // the stream itself failed: listen again for whoever still watches
        this.onError(error);
        if (this.stream === stream) this.stream = undefined;
        if (this.watched.size) this.listen();
      });
    });
  }

  private quiet(): void {
    const stream = this.stream;
    this.stream = undefined;
    void stream?.return?.();
  }

  /**
   * Matches what arrived, in order: the events that came while the last batch was matched are
   * matched together (one statement for a burst of writes, rather than one each behind them).
   */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void (async () => {
      try {
        while (this.backlog.length) await this.dispatch(this.backlog.splice(0, MAX_EVENTS_PER_STATEMENT));
      } finally {
        this.draining = false;
      }
    })();
  }

  /**
   * Matches `events` against every watched question and pushes the matches. A failed statement is
   * tried again after each of MATCH_RETRY_DELAYS_MS; when the last try fails too, every
   * subscription of those questions ends with matchingFailed, rather than going on without the
   * matches it missed. The API keys of the subscribers about to receive a match are checked in the
   * same try (one statement): a subscriber whose key is no longer live is ended with keyRevoked.
   */
  private async dispatch(events: ArticleEventMessage[]): Promise<void> {
    // the subscribers as the events arrived: one who subscribes while they are matched (or the
    // statement is tried again) neither gets them nor is ended for them
    const entries = [...this.watched.values()].map((entry) => ({
      watch: entry.watch,
      listeners: [...entry.listeners],
    }));
    if (!entries.length) return;
    let flags: boolean[][] | undefined;
    let revoked = new Set<number>();
    for (let attempt = 0; !flags; attempt++) {
      try {
        const found = await newMatchesOfEach(
          this.db,
          events,
          entries.map((entry) => entry.watch),
        );
        const keys = new Set<number>();
        entries.forEach((entry, index) => {
          if (!found.some((row) => row[index])) return;
          for (const listener of entry.listeners) if (listener.keyId !== undefined) keys.add(listener.keyId);
        });
        revoked = await revokedKeys(this.db, [...keys]);
        flags = found;
      } catch (error) {
        this.onError(error);
        const wait = MATCH_RETRY_DELAYS_MS[attempt];
        if (wait === undefined) {
          const ended = matchingFailed(error);
          for (const entry of entries) for (const listener of entry.listeners) listener.fail(ended);
          return;
        }
        await sleep(wait);
      }
    }
    for (const [at, event] of events.entries()) {
      const match: LiveMatch = { articleId: event.articleId, reason: event.kind, loads: new Map() };
      entries.forEach((entry, index) => {
        if (!flags[at]![index]) return;
        for (const listener of entry.listeners) {
          try {
            if (listener.keyId !== undefined && revoked.has(listener.keyId)) listener.fail(keyRevoked());
            else listener.push(match);
          } catch (error) {
            // one subscriber's failure never ends the others' stream
            this.onError(error);
          }
        }
      });
    }
  }
}

/** Which of the API keys `ids` are revoked or gone (one statement; none for no ids). */
async function revokedKeys(db: Db, ids: readonly number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const live = await db.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "ApiKey" WHERE "id" = ANY(${intArray(ids)}::int[]) AND "revokedAt" IS NULL`;
  const kept = new Set(live.map((row) => row.id));
  return new Set(ids.filter((id) => !kept.has(id)));
}
