import { ForbiddenError } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { hasRole, type Role, type Viewer } from './apiKeys.ts';

/** Pieces every write shares: the role check, who wrote, transaction bounds, constraint errors. */

export function requireRole(viewer: Viewer, role: Role): void {
  if (!hasRole(viewer, role)) throw new ForbiddenError(role);
}

/** The name recorded as createdBy/updatedBy: the API key's. */
export function writer(viewer: Viewer): string | null {
  return viewer.kind === 'apiKey' ? viewer.name : null;
}

export const TRANSACTION = { maxWait: 10_000, timeout: 60_000 } as const;

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

export function isForeignKeyViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2003';
}
