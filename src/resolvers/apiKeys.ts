import crypto from 'node:crypto';
import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { ValidationError } from '../errors.ts';
import { ANONYMOUS, type Role, type Viewer } from './viewer.ts';
import { writeTransaction } from './writes.ts';

/**
 * API keys: `ngk_` and 43 random base64url characters (256 bits). Only a SHA-256 hash is
 * stored; with that much entropy a fast hash is safe, and lookups are one indexed read.
 */

const KEY_FORMAT = /^ngk_[A-Za-z0-9_-]{43}$/;
/** lastUsedAt is written at most this often per key. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

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
    await db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
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
 * Creates a key; the returned secret is shown once and never stored (only its SHA-256 hash).
 * ValidationError at `input.name`: INVALID_NAME (1-100 of letters, digits, `_ . @ : -`), or TAKEN
 * (a key, active or revoked, has the name; names are never reused, so logs stay unambiguous).
 */
export async function createApiKey(db: Db, name: string, role: Role) {
  const trimmed = name.trim();
  if (!KEY_NAME.test(trimmed)) {
    throw new ValidationError([
      { path: ['input', 'name'], code: 'INVALID_NAME', message: '1-100 characters: letters, digits, _ . @ : -' },
    ]);
  }
  const secret = `ngk_${crypto.randomBytes(32).toString('base64url')}`;
  try {
    const record = await writeTransaction(db, (tx) =>
      tx.apiKey.create({
        data: { name: trimmed, role, prefix: secret.slice(0, 10), secretHash: hashKey(secret) },
        select: API_KEY_FIELDS,
      }),
    );
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
 * revoked key; ValidationError NOT_FOUND at `input.name` when no active key has the name.
 */
export async function revokeApiKey(db: Db, name: string, now = new Date()) {
  const revoked = await writeTransaction(db, (tx) =>
    tx.apiKey.updateManyAndReturn({
      where: { name: name.trim(), revokedAt: null },
      data: { revokedAt: now },
      select: API_KEY_FIELDS,
    }),
  );
  if (!revoked[0]) {
    throw new ValidationError([{ path: ['input', 'name'], code: 'NOT_FOUND', message: 'No active key has this name' }]);
  }
  return revoked[0];
}
