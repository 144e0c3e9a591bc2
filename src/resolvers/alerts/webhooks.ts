import { createHmac } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Db } from '../../db/client.ts';
import { NotFoundError, UserInputError } from '../../errors.ts';
import type { Viewer } from '../access/viewer.ts';
import { Issues, checkText } from '../writing/validation.ts';
import { recordedName, requireRole, writeTransaction } from '../writing/transaction.ts';
import { onLocalEvent, type ArticleEventMessage } from './events.ts';
import { newMatchesOfEach, type Watch } from './match.ts';
import { watchOf, type ArgumentCodec } from './savedSearches.ts';

/**
 * Webhooks: each new match of a saved search is POSTed to its webhooks, at least once.
 *
 * - The outbox (events.ts) holds every article write; the worker reads it in id order, finds the
 *   saved searches with webhooks each event newly matches (match.ts) and queues one delivery per
 *   webhook, body fixed, in the same transaction that marks the events read. A worker that is
 *   down (or every process's) loses nothing: the rows wait.
 * - Deliveries are leased (FOR UPDATE SKIP LOCKED), so any number of processes share the work,
 *   and one that dies lets its lease lapse. Each POST is logged (WebhookAttempt).
 * - A failure (network error, timeout, any status outside 200-299; redirects are not followed)
 *   is retried after base * 2^(attempt - 1) ms, times a random factor in [0.5, 1) ("equal
 *   jitter", https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), at most
 *   MAX_RETRY_DELAY_MS. A webhook whose attempts have failed without a success for
 *   WEBHOOK_DISABLE_AFTER_MS is disabled (`disabledAt`, `disabledReason`); its deliveries wait
 *   until it is enabled again.
 * - Signature: header `Newsgraph-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 *   keyed with the webhook's secret (the scheme of Stripe's webhook signatures). Receivers should
 *   compare in constant time and refuse a `t` far from their clock.
 * - SSRF guard: receivers on loopback, private, link-local, unique-local, CGNAT, multicast or
 *   reserved addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true, when the webhook is created
 *   and again at every connection, on the address DNS gave (so a name that later resolves inward
 *   is caught, and the checked address is the one connected to).
 */

/** Webhooks one saved search may have. */
export const MAX_WEBHOOKS_PER_SEARCH = 10;
/** Most deliveries `Webhook.deliveries(first:)` lists. */
export const MAX_DELIVERIES_PAGE = 100;
/** Attempts `WebhookDelivery.log` lists: the latest ones. */
export const ATTEMPTS_SHOWN = 20;

/** The signature header's name. */
export const SIGNATURE_HEADER = 'Newsgraph-Signature';
/** The longest wait between two attempts of a delivery, ms. */
export const MAX_RETRY_DELAY_MS = 3_600_000;
/** How long a worker holds a delivery beyond the POST's own time limit, ms (recording the outcome). */
const LEASE_MARGIN_MS = 60_000;
/** Events read per transaction, deliveries leased per round. */
const EVENT_BATCH = 100;
const DELIVERY_BATCH = 20;
/** POSTs one process has in flight at most, and at most to one webhook. */
export const MAX_SENDS_IN_FLIGHT = 100;
/** A webhook's POSTs in flight in one process at most: a slow receiver holds no more slots. */
export const MAX_SENDS_PER_WEBHOOK = 10;
/** Processed events are kept this long (ms): live subscribers read an update's `before`. */
const EVENT_RETENTION_MS = 86_400_000;

/** The worker's and the guard's settings (config.ts: WEBHOOK_*). */
export interface WebhookSettings {
  allowPrivate: boolean;
  /** The first retry's delay, ms (WEBHOOK_RETRY_BASE_MS). */
  retryBaseMs: number;
  /** A webhook failing without a success this long is disabled, ms. */
  disableAfterMs: number;
  /** One POST's time limit, ms. */
  timeoutMs: number;
  /** How often the worker looks for work besides being woken by this process's writes, ms. */
  pollMs: number;
}

/** The `Newsgraph-Signature` value of `body` sent at `t` (unix seconds) with `secret`. */
export function signature(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Whether `address` (an IP literal) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  if (parsed.range() !== 'unicast') return false;
  if (parsed.kind() !== 'ipv6') return true;
  // IPv6: global unicast is 2000::/3 (RFC 4291 2.4, IANA's allocations); what ipaddr.js calls
  // unicast beyond it (5f00::/16 SRv6 SIDs, RFC 9602, and other unallocated space) reaches no host
  return parsed.match(GLOBAL_UNICAST_V6, 3) && !NOT_PUBLIC_V6.some(([range, bits]) => parsed.match(range, bits));
}

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parse('2000::');

/**
 * IPv6 ranges ipaddr.js calls unicast that reach no public host of their own: IPv4-compatible
 * addresses (::a.b.c.d, RFC 4291 2.5.5.1, deprecated: ::127.0.0.1 is loopback by another name),
 * local-use NAT64 (64:ff9b:1::/48, RFC 8215: it translates to internal IPv4), site-local
 * (fec0::/10, RFC 3879) and documentation (2001:db8::/32).
 */
const NOT_PUBLIC_V6: [ipaddr.IPv6, number][] = (
  [
    ['::', 96],
    ['64:ff9b:1::', 48],
    ['fec0::', 10],
    ['2001:db8::', 32],
  ] as const
).map(([range, bits]) => [ipaddr.IPv6.parse(range), bits]);

/** Why a receiver URL is refused, or undefined: scheme, credentials, length, and the SSRF guard on its addresses. */
export async function urlProblem(value: string, allowPrivate: boolean): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'Must be an http or https URL';
  if (url.username || url.password) return 'Must not carry a user name or password';
  if (value.length > 2_000) return 'Must be at most 2000 characters';
  if (url.port === '0') return 'Port 0 reaches no server';
  if (allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
    } catch {
      return `The host ${host} does not resolve`;
    }
  }
  const inward = addresses.find((address) => !isPublicAddress(address));
  return inward
    ? `The host resolves to ${inward}, a private, loopback or reserved address (set WEBHOOK_ALLOW_PRIVATE=true to allow)`
    : undefined;
}

/** The `input` of createWebhook, as resolvers get it. */
export interface CreateWebhookInput {
  savedSearchId: { id: string | number };
  url: string;
  secret: string;
}

/**
 * Adds a webhook to a saved search (EDITOR); returns `{ id }`. ValidationError: `url`
 * (INVALID_URL: not http(s), credentials, or refused by the SSRF guard), `secret` (16-200
 * characters: TOO_SHORT/REQUIRED, TOO_LONG); NotFoundError for the saved search.
 */
export async function createWebhook(db: Db, input: CreateWebhookInput, viewer: Viewer, settings: WebhookSettings) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const url = checkText(issues, ['input', 'url'], input.url, { min: 1, max: 2_000 });
  if (url !== undefined) {
    const problem = await urlProblem(url, settings.allowPrivate);
    if (problem) issues.add(['input', 'url'], 'INVALID_URL', problem);
  }
  const secret = checkText(issues, ['input', 'secret'], input.secret, { min: 16, max: 200 });
  issues.throwIfAny();
  const savedSearchId = Number(input.savedSearchId.id);
  return writeTransaction(db, async (tx) => {
    // FOR NO KEY UPDATE, not KEY SHARE: two creates for one saved search take turns, so the second
    // counts the first's webhook (under KEY SHARE, 16 at once each counted 9, and 13 were made)
    const search = await tx.$queryRaw<
      unknown[]
    >`SELECT 1 FROM "SavedSearch" WHERE "id" = ${savedSearchId} FOR NO KEY UPDATE`;
    if (!search.length) throw new NotFoundError('SavedSearch', savedSearchId);
    if ((await tx.webhook.count({ where: { savedSearchId } })) >= MAX_WEBHOOKS_PER_SEARCH) {
      const full = new Issues();
      full.add(
        ['input', 'savedSearchId'],
        'TOO_MANY',
        `A saved search has at most ${MAX_WEBHOOKS_PER_SEARCH} webhooks`,
      );
      full.throwIfAny();
    }
    return tx.webhook.create({
      data: { savedSearchId, url: url!, secret: secret!, createdBy: recordedName(viewer) },
      select: { id: true },
    });
  });
}

/** Deletes a webhook and its deliveries (EDITOR); NotFoundError. */
export async function deleteWebhook(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  await writeTransaction(db, async (tx) => {
    if (!(await tx.webhook.deleteMany({ where: { id } })).count) throw new NotFoundError('Webhook', id);
  });
  return { id };
}

/** Enables a webhook again after it was disabled (EDITOR): its waiting deliveries are sent at once. */
export async function enableWebhook(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  return writeTransaction(db, async (tx) => {
    const updated = await tx.webhook.updateMany({
      where: { id },
      data: { disabledAt: null, disabledReason: null, failingSince: null },
    });
    if (!updated.count) throw new NotFoundError('Webhook', id);
    await tx.webhookDelivery.updateMany({
      where: { webhookId: id, status: 'PENDING' },
      data: { nextAttemptAt: new Date() },
    });
    return { id };
  });
}

/** What the worker POSTs: the JSON body of one new match. */
export type BodyBuilder = (match: {
  event: ArticleEventMessage;
  webhookId: number;
  savedSearchId: number;
}) => Promise<string | null>;

/** The response of one POST: its status code, or the network error. */
type Outcome = { status: number } | { error: string };

/**
 * POSTs `body` to `url` with the signature, connecting only to an address the guard allows
 * (checked after DNS resolution, at connection time). Never throws.
 */
export function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  settings: Pick<WebhookSettings, 'allowPrivate' | 'timeoutMs'>,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ error: 'not a URL' });
      return;
    }
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!settings.allowPrivate && net.isIP(host) && !isPublicAddress(host)) {
      resolve({ error: `refused: ${host} is not a public address` });
      return;
    }
    // every address the name resolves to that the guard allows; Node 20 asks for all of them (it
    // tries IPv6 and IPv4 in turn: autoSelectFamily), an older caller for one
    const lookup: net.LookupFunction = (hostname, options, callback) => {
      dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, '', 4);
        const allowed = settings.allowPrivate ? addresses : addresses.filter((entry) => isPublicAddress(entry.address));
        if (!allowed.length) {
          const found = addresses.map((entry) => entry.address).join(', ') || 'no address';
          return callback(new Error(`refused: ${hostname} resolves to ${found}, not a public address`), '', 4);
        }
        if (options.all) callback(null, allowed);
        else callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
    const client = target.protocol === 'https:' ? https : http;
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const request = client.request(
      target,
      {
        method: 'POST',
        agent: false,
        lookup,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Newsgraph-Webhooks/1',
        },
      },
      (response) => {
        // the status is the answer; its body is not read (a receiver that sends one slowly, or
        // forever, holds nothing)
        settle({ status: response.statusCode ?? 0 });
        response.destroy();
      },
    );
    // the whole exchange, from DNS to the status line, within timeoutMs (a socket idle timeout
    // would let a receiver that sends a byte now and then hold the POST, and the worker, for ever)
    const deadline = setTimeout(() => {
      settle({ error: `no answer within ${settings.timeoutMs} ms` });
      request.destroy();
    }, settings.timeoutMs);
    request.on('error', (error) => settle({ error: error.message.slice(0, 500) }));
    request.end(body);
  });
}

/** The delay before attempt `attempts + 1` of a delivery whose `attempts` have failed, ms. */
export function retryDelay(attempts: number, baseMs: number, random = Math.random): number {
  const full = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(attempts - 1, 40));
  return Math.round(full * (0.5 + random() / 2));
}

/**
 * The webhook worker of one process: turns outbox events into deliveries and sends them. Runs
 * until stop(); `runOnce` does one round (tests).
 */
export class WebhookWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private unlisten: (() => void) | undefined;
  // the first prune comes a round after start-up, not with it
  private lastPrune = Date.now();

  constructor(
    private readonly db: Db,
    private readonly settings: WebhookSettings,
    private readonly codec: () => ArgumentCodec,
    private readonly buildBody: BodyBuilder,
    private readonly onError: (error: unknown) => void = () => {},
    /** Told once per process of each saved search whose question is outdated (its webhooks are skipped). */
    private readonly onOutdated: (savedSearchId: number, error: UserInputError) => void = () => {},
  ) {}

  /** Saved searches found outdated (told to onOutdated once). */
  private readonly outdated = new Set<number>();

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unlisten = onLocalEvent(() => this.wake());
    this.wake();
  }

  /** Stops taking work and waits for the round in progress and the POSTs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.sending.values());
  }

  /** Runs a round now (or right after the current one). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        void this.nextDueIn().then((ms) => {
          if (this.stopped || this.running) return;
          clearTimeout(this.timer);
          this.timer = setTimeout(() => this.wake(), ms).unref();
        });
      }
    });
  }

  /**
   * How long until the next round: the earliest retry due, at most WEBHOOK_POLL_MS, at least 10 ms.
   * A delivery in flight is due when its lease lapses; a disabled webhook's deliveries are not due
   * (enableWebhook wakes the worker of its process, others find them within WEBHOOK_POLL_MS), nor
   * those of a webhook with all its slots in flight, nor any while every slot is (a POST that ends
   * wakes the worker).
   */
  private async nextDueIn(): Promise<number> {
    // every slot taken: the next POST to end wakes the worker
    if (this.sending.size >= MAX_SENDS_IN_FLIGHT) return this.settings.pollMs;
    try {
      const [row] = await this.db.$queryRaw<{ due: Date | null }[]>`
        SELECT min(GREATEST(d."nextAttemptAt", COALESCE(d."leasedUntil", d."nextAttemptAt"))) AS "due"
        FROM "WebhookDelivery" d JOIN "Webhook" w ON w."id" = d."webhookId"
        WHERE d."status" = 'PENDING' AND w."disabledAt" IS NULL
          AND NOT (d."webhookId" = ANY(${this.busyWebhooks()}::int[]))`;
      const wait = row?.due ? row.due.getTime() - Date.now() : this.settings.pollMs;
      return Math.min(this.settings.pollMs, Math.max(10, wait));
    } catch {
      return this.settings.pollMs;
    }
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && (await this.round()).work > 0) {
        // more may be waiting; the POSTs started go on meanwhile and wake the worker when done
      }
    } catch (error) {
      this.onError(error);
    }
  }

  /**
   * One round, waiting for the POSTs it starts (tests): queue the deliveries of unread events, then
   * send what is due. Returns the work done (events taken + deliveries leased).
   */
  async runOnce(): Promise<number> {
    const { work, sends } = await this.round();
    await Promise.all(sends);
    return work;
  }

  /** One round: the work done, and the POSTs it started (not awaited: a slow receiver holds up no other). */
  private async round(): Promise<{ work: number; sends: Promise<void>[] }> {
    const queued = await this.queueDeliveries();
    const sends = await this.sendDue();
    if (Date.now() - this.lastPrune > 600_000) {
      this.lastPrune = Date.now();
      // an idle worker only reads: it writes (here, and in sendDue) only when there is work
      const [old] = await this.db.$queryRaw<{ any: boolean }[]>`
        SELECT EXISTS (SELECT 1 FROM "ArticleEvent"
          WHERE "processedAt" < now() - make_interval(secs => ${EVENT_RETENTION_MS / 1000})) AS "any"`;
      if (old?.any) {
        await this.db.$executeRaw`
          DELETE FROM "ArticleEvent" WHERE "processedAt" < now() - make_interval(secs => ${EVENT_RETENTION_MS / 1000})`;
      }
    }
    return { work: queued + sends.length, sends };
  }

  /**
   * Reads up to EVENT_BATCH unread events, finds their new matches and builds the bodies (outside
   * any transaction: the body is read as `articles` reads), then, in one transaction, takes the
   * events still unread (FOR UPDATE SKIP LOCKED: another worker's are skipped), queues their
   * deliveries and marks them read. Returns how many events it took.
   */
  private async queueDeliveries(): Promise<number> {
    const rows = await this.db.$queryRaw<{ id: bigint; articleId: number; kind: 'CREATED' | 'UPDATED' }[]>`
      SELECT "id", "articleId", "kind"::text AS "kind" FROM "ArticleEvent"
      WHERE "processedAt" IS NULL ORDER BY "id" LIMIT ${EVENT_BATCH}`;
    if (!rows.length) return 0;
    // disabled ones too: their deliveries wait for enableWebhook (none is lost meanwhile)
    const hooks = await this.db.webhook.findMany({
      select: {
        id: true,
        savedSearch: { select: { id: true, name: true, filter: true, search: true, orderBy: true } },
      },
      orderBy: { id: 'asc' },
    });
    // a saved search whose filter today's rules refuse matches nothing (its webhooks wait for an
    // editor's updateSavedSearch), and keeps no other webhook from its deliveries
    const usable: { hook: (typeof hooks)[number]; watch: Watch }[] = [];
    for (const hook of hooks) {
      try {
        usable.push({ hook, watch: watchOf(hook.savedSearch, this.codec()) });
      } catch (error) {
        if (!(error instanceof UserInputError)) throw error;
        if (this.outdated.has(hook.savedSearch.id)) continue;
        this.outdated.add(hook.savedSearch.id);
        this.onOutdated(hook.savedSearch.id, error);
      }
    }
    const watches = usable.map((entry) => entry.watch);
    const queued: { eventId: bigint; webhookId: number; articleId: number; kind: string; body: string }[] = [];
    const events = rows.map((row): ArticleEventMessage => ({
      id: String(row.id),
      articleId: row.articleId,
      kind: row.kind,
    }));
    const each = await newMatchesOfEach(this.db, events, watches);
    for (const [at, row] of rows.entries()) {
      const event = events[at]!;
      const matches = each[at]!;
      for (const [index, { hook }] of usable.entries()) {
        if (!matches[index]) continue;
        const body = await this.buildBody({ event, webhookId: hook.id, savedSearchId: hook.savedSearch.id });
        if (body == null) continue; // deleted since
        queued.push({ eventId: row.id, webhookId: hook.id, articleId: row.articleId, kind: row.kind, body });
      }
    }
    // the worker's own writes answer no client: they wait for no replica and move no cached
    // answer (webhooks and deliveries are editors' reads, never cached)
    return writeTransaction(
      this.db,
      async (tx) => {
        const taken = await tx.$queryRaw<{ id: bigint }[]>`
        SELECT "id" FROM "ArticleEvent"
        WHERE "id" = ANY(${rows.map((row) => row.id)}::bigint[]) AND "processedAt" IS NULL
        ORDER BY "id" FOR UPDATE SKIP LOCKED`;
        const ids = new Set(taken.map((row) => row.id));
        const mine = queued.filter((delivery) => ids.has(delivery.eventId));
        if (mine.length) {
          // a webhook deleted meanwhile is skipped by the join
          await tx.$executeRaw`
          INSERT INTO "WebhookDelivery" ("webhookId", "eventId", "articleId", "reason", "body")
          SELECT w."id", q."eventId", q."articleId", q."kind"::"ArticleEventKind", q."body"
          FROM unnest(${mine.map((d) => d.webhookId)}::int[], ${mine.map((d) => d.eventId)}::bigint[],
                      ${mine.map((d) => d.articleId)}::int[], ${mine.map((d) => d.kind)}::text[],
                      ${mine.map((d) => d.body)}::text[]) AS q("webhookId", "eventId", "articleId", "kind", "body")
          JOIN "Webhook" w ON w."id" = q."webhookId"
          ON CONFLICT ("webhookId", "eventId") DO NOTHING`;
        }
        if (ids.size) {
          await tx.$executeRaw`UPDATE "ArticleEvent" SET "processedAt" = now() WHERE "id" = ANY(${[...ids]}::bigint[])`;
        }
        return ids.size;
      },
      { bookkeeping: true },
    );
  }

  /** POSTs in flight in this process, by delivery id. */
  private readonly sending = new Map<bigint, Promise<void>>();
  /** POSTs in flight in this process, by webhook id. */
  private readonly sendingTo = new Map<number, number>();

  /**
   * Leases up to DELIVERY_BATCH due deliveries (fewer when MAX_SENDS_IN_FLIGHT are in flight),
   * skipping webhooks with MAX_SENDS_PER_WEBHOOK in flight, and starts their POSTs; returns them.
   * Each POST wakes the worker when it ends, so its slot is used again at once.
   */
  private async sendDue(): Promise<Promise<void>[]> {
    const room = Math.min(DELIVERY_BATCH, MAX_SENDS_IN_FLIGHT - this.sending.size);
    if (room <= 0) return [];
    const [waiting] = await this.db.$queryRaw<{ any: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM "WebhookDelivery" WHERE "status" = 'PENDING' AND "nextAttemptAt" <= now()) AS "any"`;
    if (!waiting?.any) return [];
    const busy = this.busyWebhooks();
    const leaseMs = this.settings.timeoutMs + LEASE_MARGIN_MS;
    const leased = await this.db.$queryRaw<
      { id: bigint; webhookId: number; body: string; attempts: number; url: string; secret: string }[]
    >`
      UPDATE "WebhookDelivery" d
      SET "leasedUntil" = now() + make_interval(secs => ${leaseMs / 1000}), "attempts" = d."attempts" + 1
      FROM "Webhook" w
      WHERE w."id" = d."webhookId" AND d."id" IN (
        SELECT d2."id" FROM "WebhookDelivery" d2 JOIN "Webhook" w2 ON w2."id" = d2."webhookId"
        WHERE d2."status" = 'PENDING' AND d2."nextAttemptAt" <= now()
          AND (d2."leasedUntil" IS NULL OR d2."leasedUntil" < now()) AND w2."disabledAt" IS NULL
          AND NOT (d2."webhookId" = ANY(${busy}::int[]))
        ORDER BY d2."nextAttemptAt", d2."id" LIMIT ${room}
        FOR UPDATE OF d2 SKIP LOCKED)
      RETURNING d."id", d."webhookId", d."body", d."attempts", w."url", w."secret"`;
    // one batch may hold more of a webhook's deliveries than its slots left: those go back at once
    const due: typeof leased = [];
    const back: bigint[] = [];
    const taking = new Map(this.sendingTo);
    for (const delivery of leased.sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const count = taking.get(delivery.webhookId) ?? 0;
      if (count >= MAX_SENDS_PER_WEBHOOK) {
        back.push(delivery.id);
        continue;
      }
      taking.set(delivery.webhookId, count + 1);
      due.push(delivery);
    }
    if (back.length) {
      await this.db.$executeRaw`
        UPDATE "WebhookDelivery" SET "leasedUntil" = NULL, "attempts" = "attempts" - 1
        WHERE "id" = ANY(${back}::bigint[])`;
    }
    return due.map((delivery) => this.track(delivery));
  }

  /** Webhooks with MAX_SENDS_PER_WEBHOOK POSTs in flight in this process. */
  private busyWebhooks(): number[] {
    return [...this.sendingTo].filter(([, count]) => count >= MAX_SENDS_PER_WEBHOOK).map(([id]) => id);
  }

  /** Starts one delivery's POST, counted in flight until its outcome is recorded; errors go to onError. */
  private track(delivery: Parameters<WebhookWorker['send']>[0]): Promise<void> {
    this.sendingTo.set(delivery.webhookId, (this.sendingTo.get(delivery.webhookId) ?? 0) + 1);
    const sent = this.send(delivery)
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.sending.delete(delivery.id);
        const left = (this.sendingTo.get(delivery.webhookId) ?? 1) - 1;
        if (left > 0) this.sendingTo.set(delivery.webhookId, left);
        else this.sendingTo.delete(delivery.webhookId);
        this.wake();
      });
    this.sending.set(delivery.id, sent);
    return sent;
  }

  private async send(delivery: {
    id: bigint;
    webhookId: number;
    body: string;
    attempts: number;
    url: string;
    secret: string;
  }) {
    const started = Date.now();
    const t = Math.floor(started / 1000);
    const outcome = await post(
      delivery.url,
      delivery.body,
      { [SIGNATURE_HEADER]: signature(delivery.secret, t, delivery.body) },
      this.settings,
    );
    const durationMs = Date.now() - started;
    const status = 'status' in outcome ? outcome.status : null;
    const ok = status !== null && status >= 200 && status < 300;
    const error = 'error' in outcome ? outcome.error : ok ? null : `HTTP ${status}`;
    const delayMs = retryDelay(delivery.attempts, this.settings.retryBaseMs);
    await writeTransaction(
      this.db,
      async (tx) => {
        // deleted meanwhile (with its webhook): nothing to record
        const held = await tx.$queryRaw<
          unknown[]
        >`SELECT 1 FROM "WebhookDelivery" WHERE "id" = ${delivery.id} FOR UPDATE`;
        if (!held.length) return;
        await tx.$executeRaw`
        INSERT INTO "WebhookAttempt" ("deliveryId", "statusCode", "error", "durationMs")
        VALUES (${delivery.id}, ${status}, ${ok ? null : error}, ${durationMs})`;
        if (ok) {
          await tx.$executeRaw`
          UPDATE "WebhookDelivery" SET "status" = 'DELIVERED', "deliveredAt" = now(), "leasedUntil" = NULL,
            "lastStatusCode" = ${status} WHERE "id" = ${delivery.id}`;
          await tx.$executeRaw`UPDATE "Webhook" SET "failingSince" = NULL WHERE "id" = ${delivery.webhookId} AND "failingSince" IS NOT NULL`;
          return;
        }
        await tx.$executeRaw`
        UPDATE "WebhookDelivery" SET "leasedUntil" = NULL, "lastStatusCode" = ${status},
          "nextAttemptAt" = now() + make_interval(secs => ${delayMs / 1000})
        WHERE "id" = ${delivery.id}`;
        await tx.$executeRaw`
        UPDATE "Webhook" SET "failingSince" = COALESCE("failingSince", now()),
          "disabledAt" = CASE WHEN now() - COALESCE("failingSince", now()) >= make_interval(secs => ${this.settings.disableAfterMs / 1000})
                              THEN now() END,
          "disabledReason" = CASE WHEN now() - COALESCE("failingSince", now()) >= make_interval(secs => ${this.settings.disableAfterMs / 1000})
                                  THEN ${`Every attempt failed for ${Math.round(this.settings.disableAfterMs / 60_000)} minutes (last: ${error})`} END
        WHERE "id" = ${delivery.webhookId} AND "disabledAt" IS NULL`;
      },
      { bookkeeping: true },
    );
  }
}
