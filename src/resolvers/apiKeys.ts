import crypto from 'node:crypto';
import type { Db } from '../db/client.ts';
import type { ApiKeyRole } from '../generated/prisma/client.ts';

/**
 * API keys: `ngk_` and 43 random base64url characters (256 bits). Only a SHA-256 hash is
 * stored; with that much entropy a fast hash is safe, and lookups are one indexed read.
 */

export type Role = ApiKeyRole;

export type Viewer = { kind: 'anonymous' } | { kind: 'apiKey'; keyId: number; name: string; role: Role };

export const ANONYMOUS: Viewer = { kind: 'anonymous' };

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

export function hasRole(viewer: Viewer, role: Role): boolean {
  if (viewer.kind !== 'apiKey') return false;
  return role === 'EDITOR' ? viewer.role === 'EDITOR' || viewer.role === 'ADMIN' : viewer.role === 'ADMIN';
}

export class ApiKeyNameTaken extends Error {}

/** Creates a key; the returned secret is shown once and never stored. */
export async function createApiKey(db: Db, name: string, role: Role) {
  const trimmed = name.trim();
  if (!/^[\w.@:-]{1,100}$/.test(trimmed))
    throw new TypeError('key names are 1-100 characters: letters, digits, _ . @ : -');
  if (await db.apiKey.findUnique({ where: { name: trimmed } }))
    throw new ApiKeyNameTaken(`a key named "${trimmed}" exists`);
  const secret = `ngk_${crypto.randomBytes(32).toString('base64url')}`;
  const record = await db.apiKey.create({
    data: { name: trimmed, role, prefix: secret.slice(0, 10), secretHash: hashKey(secret) },
    select: { id: true, name: true, role: true, prefix: true, createdAt: true },
  });
  return { secret, record };
}

export function listApiKeys(db: Db) {
  return db.apiKey.findMany({
    orderBy: { createdAt: 'asc' },
    select: { id: true, name: true, role: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true },
  });
}

/** Revokes a key by name; returns false when there is no such active key. */
export async function revokeApiKey(db: Db, name: string, now = new Date()): Promise<boolean> {
  const { count } = await db.apiKey.updateMany({ where: { name, revokedAt: null }, data: { revokedAt: now } });
  return count === 1;
}
