import type { ApiKeyRole } from '../generated/prisma/client.ts';

/** Who is asking: anonymous (read-only), or an API key with its role. */

export type Role = ApiKeyRole;

export type Viewer = { kind: 'anonymous' } | { kind: 'apiKey'; keyId: number; name: string; role: Role };

export const ANONYMOUS: Viewer = { kind: 'anonymous' };

/** EDITOR is granted to EDITOR and ADMIN keys; ADMIN only to ADMIN keys. */
export function hasRole(viewer: Viewer, role: Role): boolean {
  if (viewer.kind !== 'apiKey') return false;
  return role === 'EDITOR' ? viewer.role === 'EDITOR' || viewer.role === 'ADMIN' : viewer.role === 'ADMIN';
}
