import crypto from 'node:crypto';
import type { Db } from '../../db/client.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { GraphQLError } from 'graphql';
import { RequestTimedOut } from '../../deadline.ts';
import { ValidationError } from '../../errors.ts';
import { ANONYMOUS, type Role, type Viewer } from './viewer.ts';
import { writeTransaction, type Tx } from '../writing/transaction.ts';

/**
 * API keys: `ngk_` and 43 random base64url characters (256 bits). Only a SHA-256 hash is
 * stored; with that much entropy a fast hash is safe, and lookups are one indexed read.
 */

const KEY_FORMAT = /^ngk_[A-Za-z0-9_-]{43}$/;
/** lastUsedAt is written at most this often per key. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** SHA-256 of a key's secret (UTF-8), as lower-case hex: what ApiKey.secretHash stores and lookups use. */
export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * A bad Authorization header: `malformed` (not "Bearer ngk_..."), or an `unknown` or `revoked`
 * key. createContext answers it with HTTP 401, code UNAUTHENTICATED.
 */
export class AuthenticationError extends Error {
  constructor(readonly reason: 'malformed' | 'unknown' | 'revoked') {
    super(
      reason === 'malformed' ? 'Malformed Authorization header: use "Bearer <API key>"' : 'Invalid or revoked API key',
    );
    this.name = 'AuthenticationError';
  }
}

/** The viewer an Authorization header stands for. No header: anonymous. A bad one: AuthenticationError. */
export async function authenticate(db: Db, authorization: string | null, now = new Date()): Promise<Viewer> {
  if (authorization == null) return ANONYMOUS;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match || !KEY_FORMAT.test(match[1]!)) throw new AuthenticationError('malformed');
  const key = await db.apiKey.findUnique({ where: { secretHash: hashKey(match[1]!) } });
  if (!key) throw new AuthenticationError('unknown');
  if (key.revokedAt) throw new AuthenticationError('revoked');
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    // a write like any other: a request answered 503 REQUEST_TIMEOUT leaves no trace
    await writeTransaction(db, (tx) => tx.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } }), {
      bookkeeping: true,
    }).catch((error: unknown) => {
      if (!(error instanceof RequestTimedOut)) throw error;
    });
  }
  return { kind: 'apiKey', keyId: key.id, name: key.name, role: key.role };
}

const KEY_NAME = /^[\w.@:-]{1,100}$/;

/** What listings show of a key: never the secret or its hash. */
export const API_KEY_FIELDS = {
  id: true,
  name: true,
  role: true,
  prefix: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

/**
 * Inside a key-management write made with an API key: that key must still be active when the
 * write commits (FOR SHARE holds off a revocation until then). A key revoked while its request
 * runs cannot go on to mint or revoke keys: UNAUTHENTICATED (HTTP 401). The CLI acts as no key.
 */
async function assertStillActive(tx: Tx, actor: Viewer | undefined): Promise<void> {
  if (actor?.kind !== 'apiKey') return;
  const [row] = await tx.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "ApiKey" WHERE "id" = ${actor.keyId} AND "revokedAt" IS NULL FOR SHARE`;
  if (!row) {
    throw new GraphQLError('Invalid or revoked API key', {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  }
}

/**
 * Creates a key; the returned secret is shown once and never stored (only its SHA-256 hash).
 * ValidationError at `input.name`: INVALID_NAME (1-100 of letters, digits, `_ . @ : -`), or TAKEN
 * (a key, active or revoked, has the name; names are never reused, so logs stay unambiguous).
 * `actor`: the key making the request, which must still be active (see assertStillActive).
 */
export async function createApiKey(db: Db, name: string, role: Role, actor?: Viewer) {
  const trimmed = name.trim();
  if (!KEY_NAME.test(trimmed)) {
    throw new ValidationError([
      { path: ['input', 'name'], code: 'INVALID_NAME', message: '1-100 characters: letters, digits, _ . @ : -' },
    ]);
  }
  const secret = `ngk_${crypto.randomBytes(32).toString('base64url')}`;
  try {
    const record = await writeTransaction(db, async (tx) => {
      await assertStillActive(tx, actor);
      return tx.apiKey.create({
        data: { name: trimmed, role, prefix: secret.slice(0, 10), secretHash: hashKey(secret) },
        select: API_KEY_FIELDS,
      });
    });
    return { secret, record };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new ValidationError([{ path: ['input', 'name'], code: 'TAKEN', message: `A key named "${trimmed}" exists` }]);
  }
}

/** Every key, oldest first, without secrets. */
export function listApiKeys(db: Db) {
  return db.apiKey.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: API_KEY_FIELDS });
}

/**
 * Revokes the active key with this name: it is refused from then on (HTTP 401). Returns the
 * revoked key. ValidationError at `input.name`: NOT_FOUND when no active key has the name,
 * LAST_ADMIN when it is the last active ADMIN key (nobody could manage keys through the API
 * any more; create another ADMIN key first). `actor` as for createApiKey.
 */
export async function revokeApiKey(db: Db, name: string, actor?: Viewer, now = new Date()) {
  const refuse = (code: string, message: string) => new ValidationError([{ path: ['input', 'name'], code, message }]);
  return writeTransaction(db, async (tx) => {
    // every active ADMIN key, locked in id order: two revocations cannot each leave the other last.
    // Taken before the actor's check: the actor is one of these rows (revoking needs ADMIN), and a
    // share lock taken first would be upgraded here, so concurrent revocations deadlocked each other
    const admins = await tx.$queryRaw<{ name: string }[]>`
      SELECT "name" FROM "ApiKey" WHERE "role" = 'ADMIN' AND "revokedAt" IS NULL ORDER BY "id" FOR UPDATE`;
    await assertStillActive(tx, actor);
    if (admins.length === 1 && admins[0]!.name === name.trim()) {
      throw refuse('LAST_ADMIN', 'This is the last active ADMIN key: create another ADMIN key first');
    }
    const [revoked] = await tx.apiKey.updateManyAndReturn({
      where: { name: name.trim(), revokedAt: null },
      data: { revokedAt: now },
      select: API_KEY_FIELDS,
    });
    if (!revoked) throw refuse('NOT_FOUND', 'No active key has this name');
    return revoked;
  });
}
