import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookBody } from '../src/alerts.ts';
import { prisma } from '../src/db/client.ts';
import { setAlertSettings } from '../src/resolvers/alerts/settings.ts';
import {
  isPublicAddress,
  MAX_SENDS_PER_WEBHOOK,
  retryDelay,
  SIGNATURE_HEADER,
  WebhookWorker,
  type WebhookSettings,
} from '../src/resolvers/alerts/webhooks.ts';
import { decodeGlobalID, encodeGlobalID } from '../src/schema/builder.ts';
import { schema } from '../src/schema/index.ts';
import { graphql } from './gql/index.ts';
import { execute } from './support/api.ts';
import { callers, type Caller } from './support/keys.ts';
import { serverUrl } from './support/targets.ts';

/**
 * Webhooks: each new match is POSTed at least once from the outbox, signed; failures are
 * retried with backoff and logged; nothing committed while the worker is down is lost; a
 * webhook failing long enough is disabled; receivers on private addresses are refused.
 */

const SaveSearch = graphql(`
  mutation HookSave($input: CreateSavedSearchInput!) {
    createSavedSearch(input: $input) {
      ... on CreateSavedSearchSuccess {
        savedSearch {
          id
        }
      }
    }
  }
`);

const CreateHook = graphql(`
  mutation HookCreate($input: CreateWebhookInput!) {
    createWebhook(input: $input) {
      __typename
      ... on CreateWebhookSuccess {
        webhook {
          id
          url
          enabled
        }
      }
      ... on ValidationError {
        fields {
          path
          code
          message
        }
      }
    }
  }
`);

const Enable = graphql(`
  mutation HookEnable($input: WebhookRefInput!) {
    enableWebhook(input: $input) {
      __typename
      ... on EnableWebhookSuccess {
        webhook {
          enabled
          disabledReason
        }
      }
    }
  }
`);

const Deliveries = graphql(`
  query HookDeliveries($id: ID!) {
    node(id: $id) {
      ... on Webhook {
        enabled
        disabledAt
        disabledReason
        failingSince
        deliveries(first: 50) {
          eventId
          article
          reason
          status
          attempts
          lastStatusCode
          log {
            statusCode
            error
          }
        }
      }
    }
  }
`);

const FileArticle = graphql(`
  mutation HookFile($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          version
        }
      }
    }
  }
`);

/** A receiver answering each POST with the next status of `script` (then the last one), recording what came. */
interface Receiver {
  url: string;
  posts: { headers: http.IncomingHttpHeaders; body: string; status: number }[];
  close(): Promise<void>;
}

async function receiver(script: number[]): Promise<Receiver> {
  const posts: Receiver['posts'] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const status = script[Math.min(posts.length, script.length - 1)]!;
      posts.push({ headers: request.headers, body, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    posts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const SETTINGS: WebhookSettings = {
  allowPrivate: true,
  retryBaseMs: 20,
  disableAfterMs: 3_600_000,
  timeoutMs: 2_000,
  pollMs: 50,
};

const codec = () => ({ schema, encodeId: encodeGlobalID, decodeId: decodeGlobalID });
const worker = (settings: Partial<WebhookSettings> = {}) =>
  new WebhookWorker(prisma, { ...SETTINGS, ...settings }, codec, webhookBody);

/** Runs `worker` until `done` holds (or 5 s pass). */
async function drive(work: WebhookWorker, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('the worker did not finish in time');
    await work.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Checks a Newsgraph-Signature header as a receiver should (constant time). */
function verify(header: string, body: string, secret: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest();
  return (
    timingSafeEqual(expected, Buffer.from(match[2]!, 'hex')) && Math.abs(Date.now() / 1000 - Number(match[1])) < 300
  );
}

let as: Record<Caller, Record<string, string>>;
let serial = 0;
const SECRET = 'a-secret-of-some-length';

beforeAll(async () => {
  as = await callers();
  setAlertSettings({ webhooks: SETTINGS });
  // the outbox rows of the fixtures' writes are not this file's concern
  await prisma.articleEvent.updateMany({ data: { processedAt: new Date() } });
});

afterAll(() => setAlertSettings(undefined));

async function file(priority: number, title = `Hook article ${++serial}`) {
  const result = await execute(
    FileArticle,
    {
      input: {
        title,
        url: `https://example.com/hook/${serial}-${priority}-${Date.now()}`,
        source: 'ABC News',
        publishedAt: '2026-06-01T00:00:00Z',
        priority,
      },
    },
    as.editor,
  );
  const payload = result.data!.createArticle;
  if (payload.__typename !== 'CreateArticleSuccess') throw new Error(JSON.stringify(result));
  return payload.article;
}

async function hookFor(url: string, filter: Record<string, unknown>) {
  const saved = await execute(
    SaveSearch,
    { input: { name: `hooked ${++serial}`, filter: filter as never } },
    as.editor,
  );
  const savedSearchId = (saved.data!.createSavedSearch as { savedSearch: { id: string } }).savedSearch.id;
  const result = await execute(CreateHook, { input: { savedSearchId, url, secret: SECRET } }, as.editor);
  const payload = result.data!.createWebhook;
  if (payload.__typename !== 'CreateWebhookSuccess') throw new Error(JSON.stringify(result));
  return { savedSearchId, webhookId: payload.webhook.id };
}

async function deliveriesOf(webhookId: string) {
  const result = await execute(Deliveries, { id: webhookId }, as.editor);
  return result.data!.node as {
    enabled: boolean;
    disabledReason: string | null;
    failingSince: string | null;
    deliveries: {
      eventId: string;
      article: string;
      reason: string;
      status: string;
      attempts: number;
      log: { statusCode: number | null }[];
    }[];
  };
}

describe('delivery', () => {
  it('fails twice, then accepts: one accepted, signed delivery and three attempts logged', async () => {
    const receiving = await receiver([500, 503, 204]);
    const { webhookId, savedSearchId } = await hookFor(receiving.url, { priority: { gte: 4 } });
    await file(1);
    const article = await file(5, 'Signed and delivered');
    const work = worker();
    await drive(work, async () => (await deliveriesOf(webhookId)).deliveries[0]?.status === 'DELIVERED');
    expect(receiving.posts.map((post) => post.status)).toEqual([500, 503, 204]);
    const bodies = new Set(receiving.posts.map((post) => post.body));
    expect(bodies.size).toBe(1); // every attempt sends the same bytes
    for (const post of receiving.posts) {
      expect(verify(post.headers[SIGNATURE_HEADER.toLowerCase()] as string, post.body, SECRET)).toBe(true);
      expect(verify(post.headers[SIGNATURE_HEADER.toLowerCase()] as string, post.body, 'another-secret-value')).toBe(
        false,
      );
    }
    const body = JSON.parse(receiving.posts[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'article.matched',
      reason: 'CREATED',
      savedSearchId,
      webhookId,
      article: { id: article.id, title: 'Signed and delivered', priority: 5, authors: [], topics: [] },
    });
    expect(body.eventId).toMatch(/^evt_\d+$/);
    const state = await deliveriesOf(webhookId);
    expect(state.deliveries).toHaveLength(1);
    expect(state.deliveries[0]).toMatchObject({
      eventId: body.eventId,
      article: article.id,
      status: 'DELIVERED',
      attempts: 3,
    });
    expect(state.deliveries[0]!.log.map((attempt) => attempt.statusCode)).toEqual([500, 503, 204]);
    expect(state.failingSince).toBeNull();
    // nothing more: the low-priority article never matched
    await work.runOnce();
    expect(receiving.posts).toHaveLength(3);
    await receiving.close();
  });

  it('an article committed while the worker is down is delivered after it starts', async () => {
    const receiving = await receiver([200]);
    const { webhookId } = await hookFor(receiving.url, { title: { contains: 'while down' } });
    const article = await file(3, 'Filed while down');
    // no worker ran: the delivery waits in the outbox
    expect(receiving.posts).toHaveLength(0);
    const work = worker();
    work.start();
    try {
      const deadline = Date.now() + 5_000;
      while (!receiving.posts.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await work.stop();
    }
    expect(receiving.posts).toHaveLength(1);
    expect(JSON.parse(receiving.posts[0]!.body)).toMatchObject({ article: { id: article.id } });
    expect((await deliveriesOf(webhookId)).deliveries[0]!.status).toBe('DELIVERED');
    await receiving.close();
  });

  it("a saved search whose stored filter today's rules refuse is skipped (and told once); the others are delivered", async () => {
    const receiving = await receiver([200, 200]);
    const outdated = await hookFor(receiving.url, { title: { contains: 'outdated rule' } });
    const oldSchema = await hookFor(receiving.url, { title: { contains: 'outdated rule' } });
    const current = await hookFor(receiving.url, { title: { contains: 'outdated rule' } });
    // saved before the `text` filter needed 3 letters in a row: as a database of then holds it
    await prisma.savedSearch.update({
      where: { id: Number(decodeGlobalID(outdated.savedSearchId).id) },
      data: { filter: { text: 'ab' } },
    });
    // saved by a version whose schema had other values
    await prisma.savedSearch.update({
      where: { id: Number(decodeGlobalID(oldSchema.savedSearchId).id) },
      data: { orderBy: [{ field: 'POPULARITY' }] },
    });
    const article = await file(3, 'An outdated rule must not stop the others');
    const told: number[] = [];
    const work = new WebhookWorker(prisma, SETTINGS, codec, webhookBody, undefined, (id) => told.push(id));
    await drive(work, () => receiving.posts.length >= 1);
    await work.runOnce();
    expect(receiving.posts).toHaveLength(1);
    expect(JSON.parse(receiving.posts[0]!.body)).toMatchObject({ article: { id: article.id } });
    expect((await deliveriesOf(current.webhookId)).deliveries).toHaveLength(1);
    expect((await deliveriesOf(outdated.webhookId)).deliveries).toHaveLength(0);
    expect((await deliveriesOf(oldSchema.webhookId)).deliveries).toHaveLength(0);
    expect(told).toEqual([outdated, oldSchema].map((hook) => Number(decodeGlobalID(hook.savedSearchId).id)));
    await receiving.close();
  });

  it('delivers to a host name, on any address it resolves to (Node 20 asks for them all)', async () => {
    const receiving = await receiver([200]);
    const { webhookId } = await hookFor(receiving.url.replace('127.0.0.1', 'localhost'), {
      title: { contains: 'named host' },
    });
    await file(3, 'To a named host');
    await drive(worker(), () => receiving.posts.length >= 1);
    expect((await deliveriesOf(webhookId)).deliveries[0]!.status).toBe('DELIVERED');
    await receiving.close();
  });

  it('bounds each POST by its time limit in all: receivers that trickle their answer hold up no other webhook', async () => {
    // one sends a header byte every 50 ms and never ends its head; one sends 200 and then a body
    // byte every 50 ms for ever: neither ever lets a socket idle timeout fire
    const sockets = new Set<import('node:net').Socket>();
    const trickle = (socket: import('node:net').Socket, head: string) => {
      sockets.add(socket);
      socket.write(head);
      const timer = setInterval(() => socket.writable && socket.write('a'), 50);
      socket.on('close', () => clearInterval(timer));
      socket.on('error', () => clearInterval(timer));
    };
    const heads = net.createServer((socket) =>
      socket.once('data', () => trickle(socket, 'HTTP/1.1 200 OK\r\nX-Pad: ')),
    );
    const bodies = net.createServer((socket) =>
      socket.once('data', () => trickle(socket, 'HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n')),
    );
    const listen = async (server: import('node:net').Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    };
    const receiving = await receiver([200]);
    const slowHead = await hookFor(await listen(heads), { title: { contains: 'trickled' } });
    const slowBody = await hookFor(await listen(bodies), { title: { contains: 'trickled' } });
    const fine = await hookFor(receiving.url, { title: { contains: 'trickled' } });
    const work = worker({ timeoutMs: 500 });
    const stalled = (ms: number) => new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), ms));
    try {
      for (const n of [1, 2]) {
        await file(3, `Trickled ${n}`);
        const done = drive(work, () => receiving.posts.length >= n);
        expect(await Promise.race([done.then(() => 'sent'), stalled(8_000)]), `article ${n}`).toBe('sent');
      }
      expect((await deliveriesOf(fine.webhookId)).deliveries.map((delivery) => delivery.status)).toEqual([
        'DELIVERED',
        'DELIVERED',
      ]);
      // the status line is the answer, whatever the body does
      expect((await deliveriesOf(slowBody.webhookId)).deliveries.map((delivery) => delivery.status)).toEqual([
        'DELIVERED',
        'DELIVERED',
      ]);
      const head = await deliveriesOf(slowHead.webhookId);
      expect(head.deliveries.map((delivery) => delivery.status)).toEqual(['PENDING', 'PENDING']);
      const attempts = await prisma.webhookAttempt.findMany({
        where: { delivery: { webhookId: Number(decodeGlobalID(slowHead.webhookId).id) } },
      });
      expect(attempts.length).toBeGreaterThan(0);
      for (const attempt of attempts) {
        expect(attempt.error).toBe('no answer within 500 ms');
        expect(attempt.durationMs).toBeLessThan(2_000);
      }
    } finally {
      await work.stop();
      for (const socket of sockets) socket.destroy();
      await Promise.all([heads, bodies].map((server) => new Promise((resolve) => server.close(resolve))));
      await receiving.close();
    }
  });

  it('a receiver that never answers holds up no other webhook, and holds at most its share of POSTs', async () => {
    // a receiver that reads each POST and never answers: without a time limit reached (30 s), its
    // POSTs stay in flight while the other webhook's deliveries go out as they come
    const open = new Set<import('node:net').Socket>();
    let most = 0;
    const silent = net.createServer((socket) => {
      open.add(socket);
      most = Math.max(most, open.size);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const receiving = await receiver([200]);
    await hookFor(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`, {
      title: { contains: 'unanswered' },
    });
    await hookFor(receiving.url, { title: { contains: 'unanswered' } });
    // the worker's statements, counted: while the silent receiver holds its slots and more of its
    // deliveries wait, the worker waits for a POST to end or WEBHOOK_POLL_MS, not 10 ms (other
    // tests' retries add a few rounds; every 10 ms would be over 300 statements)
    let statements = 0;
    const counting = new Proxy(prisma, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          statements++;
          return Reflect.apply(value, target, args);
        };
      },
    });
    const work = new WebhookWorker(counting, { ...SETTINGS, timeoutMs: 30_000, pollMs: 1_000 }, codec, webhookBody);
    work.start();
    const arrived = async (n: number) => {
      const deadline = Date.now() + 8_000;
      while (receiving.posts.length < n && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return receiving.posts.length;
    };
    try {
      for (let i = 0; i < 2 * MAX_SENDS_PER_WEBHOOK; i++) await file(3, `Unanswered ${i}`);
      expect(await arrived(2 * MAX_SENDS_PER_WEBHOOK)).toBe(2 * MAX_SENDS_PER_WEBHOOK);
      // filed while the silent receiver holds its POSTs: delivered at once, not after 30 s
      await file(3, 'Unanswered, later');
      expect(await arrived(2 * MAX_SENDS_PER_WEBHOOK + 1)).toBe(2 * MAX_SENDS_PER_WEBHOOK + 1);
      expect(open.size).toBe(MAX_SENDS_PER_WEBHOOK);
      expect(most).toBe(MAX_SENDS_PER_WEBHOOK);
      const before = statements;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(statements - before).toBeLessThan(100);
    } finally {
      for (const socket of open) socket.destroy();
      await work.stop();
      await new Promise((resolve) => silent.close(resolve));
      await receiving.close();
    }
  });

  it("a disabled webhook's waiting deliveries do not make the worker poll faster than WEBHOOK_POLL_MS", async () => {
    const { webhookId } = await hookFor('http://127.0.0.1:9/disabled', { title: { contains: 'polled' } });
    const id = Number(decodeGlobalID(webhookId).id);
    await file(3, 'Polled while disabled');
    await worker({ retryBaseMs: 3_600_000 }).runOnce(); // queued, and failed once (nothing listens on port 9)
    await prisma.webhook.update({ where: { id }, data: { disabledAt: new Date(), disabledReason: 'test' } });
    await prisma.webhookDelivery.updateMany({ where: { webhookId: id }, data: { nextAttemptAt: new Date(0) } });
    // other tests' retries are not this one's: put off while it runs
    const others = await prisma.webhookDelivery.findMany({
      where: { status: 'PENDING', webhookId: { not: id } },
      select: { id: true, nextAttemptAt: true },
    });
    await prisma.webhookDelivery.updateMany({
      where: { id: { in: others.map((other) => other.id) } },
      data: { nextAttemptAt: new Date(Date.now() + 3_600_000) },
    });
    // the worker's statements, counted
    let statements = 0;
    const counting = new Proxy(prisma, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          statements++;
          return Reflect.apply(value, target, args);
        };
      },
    });
    const work = new WebhookWorker(counting, { ...SETTINGS, pollMs: 1_000 }, codec, webhookBody);
    work.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      await work.stop();
      await prisma.webhook.delete({ where: { id } });
      for (const other of others) {
        await prisma.webhookDelivery.update({ where: { id: other.id }, data: { nextAttemptAt: other.nextAttemptAt } });
      }
    }
    // two rounds of a few statements each, not one every 10 ms
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThan(20);
  });

  it('an update into the saved search is delivered as UPDATED, once', async () => {
    const receiving = await receiver([200]);
    const { webhookId } = await hookFor(receiving.url, { priority: { equals: 4 }, title: { contains: 'promoted' } });
    const article = await file(2, 'To be promoted');
    const Update = graphql(`
      mutation HookUpdate($input: UpdateArticleInput!) {
        updateArticle(input: $input) {
          __typename
        }
      }
    `);
    await execute(Update, { input: { id: article.id, expectedVersion: 1, priority: 4 } }, as.editor);
    await execute(Update, { input: { id: article.id, expectedVersion: 2, summary: 'still a match' } }, as.editor);
    const work = worker();
    await drive(work, async () => receiving.posts.length >= 1);
    await work.runOnce();
    expect(receiving.posts).toHaveLength(1);
    expect(JSON.parse(receiving.posts[0]!.body)).toMatchObject({
      reason: 'UPDATED',
      article: { id: article.id, priority: 4 },
    });
    expect((await deliveriesOf(webhookId)).deliveries).toHaveLength(1);
    await receiving.close();
  });

  it('a webhook failing for the documented time is disabled and says so; enabling it sends what waited', async () => {
    const receiving = await receiver([500, 500, 500, 500, 500, 500, 500, 500, 200]);
    const { webhookId } = await hookFor(receiving.url, { title: { contains: 'always failing' } });
    await file(3, 'An always failing receiver');
    const work = worker({ disableAfterMs: 1_000, retryBaseMs: 100 });
    await drive(work, async () => !(await deliveriesOf(webhookId)).enabled);
    const state = await deliveriesOf(webhookId);
    expect(state.disabledReason).toMatch(/failed for/);
    expect(state.deliveries[0]!.status).toBe('PENDING');
    const posted = receiving.posts.length;
    await work.runOnce();
    expect(receiving.posts).toHaveLength(posted); // disabled: no more attempts
    const enabled = await execute(Enable, { input: { id: webhookId } }, as.editor);
    expect(enabled.data!.enableWebhook).toEqual({
      __typename: 'EnableWebhookSuccess',
      webhook: { enabled: true, disabledReason: null },
    });
    receiving.posts.length = 8; // the next answer is the 200
    await drive(work, async () => (await deliveriesOf(webhookId)).deliveries[0]!.status === 'DELIVERED');
    await receiving.close();
  });

  it('matches made while a webhook is disabled wait for it, and are sent once it is enabled', async () => {
    const receiving = await receiver([200]);
    const { webhookId } = await hookFor(receiving.url, { title: { contains: 'while disabled' } });
    const id = Number(decodeGlobalID(webhookId).id);
    await prisma.webhook.update({ where: { id }, data: { disabledAt: new Date(), disabledReason: 'test' } });
    const article = await file(3, 'Filed while disabled');
    const work = worker();
    await work.runOnce();
    await work.runOnce();
    expect(receiving.posts).toHaveLength(0);
    const waiting = await deliveriesOf(webhookId);
    expect(waiting.deliveries).toMatchObject([{ article: article.id, status: 'PENDING', attempts: 0 }]);
    await execute(Enable, { input: { id: webhookId } }, as.editor);
    await drive(work, () => receiving.posts.length >= 1);
    expect(JSON.parse(receiving.posts[0]!.body)).toMatchObject({ article: { id: article.id } });
    await receiving.close();
  });

  it('retries on their own schedule, not the poll interval', async () => {
    const receiving = await receiver([500, 500, 200]);
    await hookFor(receiving.url, { title: { contains: 'on schedule' } });
    await file(3, 'Retried on schedule');
    // polling every 10 s: the retries (50 ms, then about 100 ms) come from the next due attempt
    const work = worker({ retryBaseMs: 50, pollMs: 10_000 });
    const started = Date.now();
    work.start();
    try {
      while (receiving.posts.length < 3 && Date.now() - started < 5_000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await work.stop();
    }
    expect(receiving.posts.map((post) => post.status)).toEqual([500, 500, 200]);
    expect(Date.now() - started).toBeLessThan(3_000);
    await receiving.close();
  });

  it('a webhook deleted while its POST is in flight ends quietly', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = http.createServer((request, response) => {
      request.resume();
      void held.then(() => response.writeHead(200).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`;
    const { webhookId } = await hookFor(url, { title: { contains: 'deleted in flight' } });
    await file(3, 'A delivery deleted in flight');
    const errors: unknown[] = [];
    const work = new WebhookWorker(prisma, SETTINGS, codec, webhookBody, (error) => errors.push(error));
    const round = work.runOnce();
    while (
      !(await prisma.webhookDelivery.count({ where: { webhookId: Number(decodeGlobalID(webhookId).id), attempts: 1 } }))
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await prisma.webhook.delete({ where: { id: Number(decodeGlobalID(webhookId).id) } });
    release();
    await expect(round).resolves.toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.skipIf(!serverUrl)('two workers at once deliver each match once', async () => {
    const receiving = await receiver([200]);
    await hookFor(receiving.url, { title: { contains: 'two workers' } });
    for (let i = 0; i < 12; i++) await file(3, `Two workers ${i}`);
    const [one, two] = [worker(), worker()];
    await Promise.all([one.runOnce(), two.runOnce(), one.runOnce(), two.runOnce()]);
    await drive(one, () => receiving.posts.length >= 12);
    await Promise.all([one.runOnce(), two.runOnce()]);
    const events = receiving.posts.map((post) => (JSON.parse(post.body) as { eventId: string }).eventId);
    expect(new Set(events).size).toBe(12);
    expect(events).toHaveLength(12);
    await receiving.close();
  });
});

describe('limits', () => {
  it('holds a saved search to 10 webhooks, also when 16 are created at once', async () => {
    const { savedSearchId } = await hookFor('http://127.0.0.1:9/first', { priority: { gte: 5 } });
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        execute(CreateHook, { input: { savedSearchId, url: `http://127.0.0.1:9/${i}`, secret: SECRET } }, as.editor),
      ),
    );
    const outcomes = results.map((result) => {
      const payload = result.data?.createWebhook;
      return payload?.__typename === 'ValidationError'
        ? payload.fields.map((f) => `${f.path.join('.')}:${f.code}`).join()
        : (payload?.__typename ?? JSON.stringify(result.errors));
    });
    expect(outcomes.filter((outcome) => outcome === 'CreateWebhookSuccess')).toHaveLength(9);
    expect(outcomes.filter((outcome) => outcome === 'input.savedSearchId:TOO_MANY')).toHaveLength(7);
    const id = Number(Buffer.from(savedSearchId, 'base64').toString().split(':')[1]);
    expect(await prisma.webhook.count({ where: { savedSearchId: id } })).toBe(10);
  });
});

describe('the SSRF guard', () => {
  it('refuses receivers on private, loopback and reserved addresses, before and after DNS', async () => {
    setAlertSettings({ webhooks: { ...SETTINGS, allowPrivate: false } });
    try {
      const saved = await execute(SaveSearch, { input: { name: 'guarded' } }, as.editor);
      const savedSearchId = (saved.data!.createSavedSearch as { savedSearch: { id: string } }).savedSearch.id;
      for (const url of [
        'http://127.0.0.1/hook',
        'http://10.1.2.3/hook',
        'http://192.168.0.10/hook',
        'http://172.16.5.4/hook',
        'http://169.254.169.254/latest/meta-data',
        'http://100.64.0.1/hook',
        'http://[::1]/hook',
        'http://[fd00::1]/hook',
        'http://[::ffff:127.0.0.1]/hook',
        'http://[::127.0.0.1]/hook',
        'http://[64:ff9b:1::a00:1]/hook',
        'http://[fec0::1]/hook',
        'http://2130706433/hook',
        'http://0.0.0.0/hook',
        'http://localhost:8080/hook',
        'http://93.184.216.34:0/hook',
        'http://[5f00::1]/hook',
        'ftp://example.com/hook',
        'http://user:pass@example.com/hook',
        'not a url',
      ]) {
        const count = await prisma.webhook.count();
        const result = await execute(CreateHook, { input: { savedSearchId, url, secret: SECRET } }, as.editor);
        const payload = result.data!.createWebhook as {
          __typename: string;
          fields?: { path: string[]; code: string }[];
        };
        expect(payload.__typename, url).toBe('ValidationError');
        expect(payload.fields).toContainEqual({
          path: ['input', 'url'],
          code: 'INVALID_URL',
          message: expect.any(String),
        });
        expect(await prisma.webhook.count()).toBe(count);
      }
      const short = await execute(
        CreateHook,
        { input: { savedSearchId, url: 'http://127.0.0.1/', secret: 'short' } },
        as.editor,
      );
      expect(
        (short.data!.createWebhook as { fields: { path: string[] }[] }).fields.map((f) => f.path.join('.')),
      ).toEqual(['input.url', 'input.secret']);
    } finally {
      setAlertSettings({ webhooks: SETTINGS });
    }
  });

  it('is checked again when sending, on the address the name resolved to', async () => {
    const receiving = await receiver([200]);
    const { webhookId } = await hookFor(receiving.url.replace('127.0.0.1', 'localhost'), {
      title: { contains: 'guarded send' },
    });
    await file(3, 'A guarded send');
    const guarded = worker({ allowPrivate: false });
    await drive(guarded, async () => ((await deliveriesOf(webhookId)).deliveries[0]?.attempts ?? 0) >= 1);
    expect(receiving.posts).toHaveLength(0);
    const state = await deliveriesOf(webhookId);
    expect(state.deliveries[0]!.status).toBe('PENDING');
    const attempt = await prisma.webhookAttempt.findFirstOrThrow({ orderBy: { id: 'desc' } });
    expect(attempt.error).toMatch(/refused/);
    await receiving.close();
  });

  it('classifies addresses', () => {
    expect(isPublicAddress('93.184.216.34')).toBe(true);
    expect(isPublicAddress('2606:4700::1111')).toBe(true);
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '::1',
      'fe80::1',
      '224.0.0.1',
      '::ffff:10.0.0.1',
      '::7f00:1',
      '64:ff9b:1::a00:1',
      'fec0::1',
      '2001:db8::1',
      '5f00::1',
      '4000::1',
      'nonsense',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });
});

describe('backoff', () => {
  it('doubles from the base, with jitter in [0.5, 1) of it, at most an hour', () => {
    expect(retryDelay(1, 1_000, () => 0)).toBe(500);
    expect(retryDelay(1, 1_000, () => 0.999)).toBe(1_000);
    expect(retryDelay(4, 1_000, () => 0)).toBe(4_000);
    expect(retryDelay(60, 1_000, () => 0.999)).toBe(3_598_200);
    expect(retryDelay(60, 1_000, () => 0)).toBe(1_800_000);
  });
});
