import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { FairPool } from '../src/db/adapters.ts';
import { FairTurns } from '../src/db/fairTurns.ts';
import { RequestDeadline, RequestTimedOut } from '../src/deadline.ts';
import { RequestScope, withScope } from '../src/requestScope.ts';

/** Turns at a pool's connections (src/db/fairTurns.ts): waiting clients in rotation, waits bounded. */

const timeout = () => new Error('timeout exceeded when trying to connect');

describe('FairTurns', () => {
  it('gives free turns at once, then serves waiting clients in rotation, each client in its own order', async () => {
    const turns = new FairTurns(2, 0, timeout);
    await turns.take('a');
    await turns.take('a');
    const order: string[] = [];
    const wait = (client: string, n: number) => turns.take(client).then(() => order.push(`${client}${n}`));
    const waiting = [wait('a', 3), wait('a', 4), wait('a', 5), wait('b', 1), wait('c', 1), wait('b', 2)];
    expect(turns.state()).toEqual({ taken: 2, waiting: { a: 3, b: 2, c: 1 } });
    expect(turns.waitingCount()).toBe(6);
    for (let n = 0; n < 6; n++) {
      turns.free();
      await Promise.resolve();
    }
    await Promise.all(waiting);
    expect(order).toEqual(['a3', 'b1', 'c1', 'a4', 'b2', 'a5']);
    expect(turns.state()).toEqual({ taken: 2, waiting: {} });
    // a newcomer waits behind nobody once turns are free
    turns.free();
    await turns.take('d');
    expect(turns.state().taken).toBe(2);
  });

  it('refuses a wait past its limit with the pool error, and gives its turn to the next', async () => {
    const turns = new FairTurns(1, 50, timeout);
    await turns.take('a');
    const late = turns.take('b');
    await expect(late).rejects.toThrow('timeout exceeded when trying to connect');
    expect(turns.state()).toEqual({ taken: 1, waiting: {} });
    const next = turns.take('c');
    turns.free();
    await next;
    expect(turns.state()).toEqual({ taken: 1, waiting: {} });
  });

  it('lets a watcher cancel a wait: the waiter leaves the queue, and nothing is left to watch once it has a turn', async () => {
    const turns = new FairTurns(1, 0, timeout);
    await turns.take('a');
    const cancels: ((reason: Error) => void)[] = [];
    let watching = 0;
    const watch = (cancel: (reason: Error) => void) => {
      cancels.push(cancel);
      watching += 1;
      return () => (watching -= 1);
    };
    const cancelled = turns.take('b', watch);
    const served = turns.take('c', watch);
    expect(turns.state()).toEqual({ taken: 1, waiting: { b: 1, c: 1 } });
    cancels[0]!(new Error('answered already'));
    await expect(cancelled).rejects.toThrow('answered already');
    expect(turns.state()).toEqual({ taken: 1, waiting: { c: 1 } });
    turns.free();
    await served;
    expect(watching).toBe(0);
    // a cancel after the turn was given changes nothing
    cancels[1]!(new Error('too late'));
    expect(turns.state()).toEqual({ taken: 1, waiting: {} });
    expect(watching).toBe(0);
    // and a free turn is taken without watching
    turns.free();
    await turns.take('d', watch);
    expect(cancels).toHaveLength(2);
  });
});

describe('FairPool', () => {
  it('takes a turn per connection; a request answered 503 REQUEST_TIMEOUT stops waiting, and one already answered waits for nothing', async () => {
    // a server that accepts connections and never answers: the first connect() holds the only turn
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const pool = new FairPool({
      host: '127.0.0.1',
      port,
      user: 'u',
      database: 'd',
      max: 1,
      connectionTimeoutMillis: 0,
    });
    const first = pool.connect().then(
      () => 'connected',
      (error: Error) => error.message,
    );
    const scoped = (deadline: RequestDeadline) =>
      withScope(new RequestScope({ deadline, statementsAtOnce: 1, client: 'address:192.0.2.1' }), () => pool.connect());
    const deadline = new RequestDeadline();
    const waiting = scoped(deadline);
    const other = scoped(new RequestDeadline()).then(
      () => 'connected',
      (error: Error) => error.message,
    );
    expect(pool.waiting()).toBe(2);
    deadline.expire();
    await expect(waiting).rejects.toBeInstanceOf(RequestTimedOut);
    expect(pool.waiting()).toBe(1);
    const expired = new RequestDeadline();
    expired.expire();
    await expect(scoped(expired)).rejects.toBeInstanceOf(RequestTimedOut);
    expect(pool.waiting()).toBe(1);
    // the held connection fails: its turn goes to the one still waiting, whose connection fails too
    await expect.poll(() => sockets.length).toBe(1);
    sockets[0]!.destroy();
    expect(await first).toMatch(/Connection terminated/);
    await expect.poll(() => sockets.length).toBe(2);
    sockets[1]!.destroy();
    expect(await other).toMatch(/Connection terminated/);
    expect(pool.waiting()).toBe(0);
    await pool.end();
    silent.close();
    // a wait that never ends fails the test in seconds, not at the suite's limit
  }, 10_000);
});
