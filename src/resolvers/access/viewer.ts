import type { ApiKeyRole } from '../../generated/prisma/client.ts';

/** Who is asking: anonymous (read-only), or an API key with its role. */

/**
 * An API key's role: EDITOR creates and corrects articles, authors and topics; ADMIN also deletes,
 * merges and manages keys.
 */
export type Role = ApiKeyRole;

/** The caller of one request; for a key, `name` is what createdBy/updatedBy record. */
export type Viewer = { kind: 'anonymous' } | { kind: 'apiKey'; keyId: number; name: string; role: Role };

/** The viewer of a request without an Authorization header. */
export const ANONYMOUS: Viewer = { kind: 'anonymous' };

/** EDITOR is granted to EDITOR and ADMIN keys; ADMIN only to ADMIN keys. */
export function hasRole(viewer: Viewer, role: Role): boolean {
  if (viewer.kind !== 'apiKey') return false;
  return role === 'EDITOR' ? viewer.role === 'EDITOR' || viewer.role === 'ADMIN' : viewer.role === 'ADMIN';
}
