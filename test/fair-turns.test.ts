import { describe, expect, it } from 'vitest';
import { FairTurns } from '../src/db/fairTurns.ts';

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
});
