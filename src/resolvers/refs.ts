import type { Prisma } from '../generated/prisma/client.ts';
import { slugify } from './slugs.ts';
import { checkName, type Issues } from './validation.ts';

/**
 * Author and topic references in article inputs: an existing `id`, or a `name` that is
 * connected when it exists (authors by name, case-insensitively; topics by slug) and created
 * when it does not. Creation is race-safe (INSERT ... ON CONFLICT DO NOTHING, then read).
 */

type Tx = Prisma.TransactionClient;
type Maybe<T> = T | null | undefined;

export interface RefInput {
  id?: Maybe<{ id: string | number }>;
  name?: Maybe<string>;
}

/** A checked reference: by id, or by cleaned name (with its slug for topics). */
export type Ref = { index: number; id: number } | { index: number; name: string; slug: string };

export const LIMITS = { authors: 20, topics: 50 } as const;

/** Checks shape and names of a list of refs; records issues under `path`. */
export function checkRefs(
  issues: Issues,
  path: readonly (string | number)[],
  refs: readonly RefInput[],
  max: number,
  kind: 'author' | 'topic',
): Ref[] {
  if (refs.length > max) {
    issues.add(path, 'TOO_MANY', `At most ${max} ${kind}s per article (got ${refs.length})`);
    return [];
  }
  const out: Ref[] = [];
  refs.forEach((ref, index) => {
    const at = [...path, index];
    if ((ref.id == null) === (ref.name == null)) {
      issues.add(at, 'INVALID_REF', 'Give exactly one of "id" and "name"');
      return;
    }
    if (ref.id != null) {
      out.push({ index, id: Number(ref.id.id) });
      return;
    }
    const name = checkName(issues, [...at, 'name'], ref.name!);
    if (name === undefined) return;
    const slug = slugify(name);
    if (kind === 'topic' && !slug) {
      issues.add([...at, 'name'], 'INVALID_NAME', 'A topic name needs at least one letter or digit');
      return;
    }
    out.push({ index, name, slug });
  });
  return out;
}

/** Resolves author refs to ids in the given order, creating authors named for the first time. */
export async function resolveAuthorRefs(
  tx: Tx,
  issues: Issues,
  path: readonly (string | number)[],
  refs: Ref[],
): Promise<number[]> {
  const byId = refs.filter((ref): ref is Extract<Ref, { id: number }> => 'id' in ref);
  const byName = refs.filter((ref): ref is Extract<Ref, { name: string }> => 'name' in ref);
  const found = new Set(
    (await tx.author.findMany({ where: { id: { in: byId.map((ref) => ref.id) } }, select: { id: true } })).map(
      (row) => row.id,
    ),
  );
  for (const ref of byId)
    if (!found.has(ref.id)) issues.add([...path, ref.index, 'id'], 'NOT_FOUND', 'No author with this id');
  const ids = new Map<string, number>();
  if (byName.length) {
    const names = byName.map((ref) => ref.name);
    const existing = await tx.author.findMany({
      where: { name: { in: names, mode: 'insensitive' } },
      select: { id: true, name: true },
    });
    for (const row of existing) ids.set(row.name.toLowerCase(), row.id);
    // sorted: concurrent inserts take unique-index locks in one order (no deadlocks)
    const missing = [...new Set(names.filter((name) => !ids.has(name.toLowerCase())))].sort();
    if (missing.length) {
      await tx.$executeRaw`INSERT INTO "Author" ("name") SELECT unnest(${missing}::text[]) ON CONFLICT DO NOTHING`;
      const created = await tx.author.findMany({ where: { name: { in: missing } }, select: { id: true, name: true } });
      for (const row of created) ids.set(row.name.toLowerCase(), row.id);
    }
  }
  return refs.map((ref) => ('id' in ref ? ref.id : ids.get(ref.name.toLowerCase())!));
}

/** Resolves topic refs to ids in the given order, creating topics named for the first time. */
export async function resolveTopicRefs(
  tx: Tx,
  issues: Issues,
  path: readonly (string | number)[],
  refs: Ref[],
  options: { create: boolean } = { create: true },
): Promise<(number | undefined)[]> {
  const byId = refs.filter((ref): ref is Extract<Ref, { id: number }> => 'id' in ref);
  const byName = refs.filter((ref): ref is Extract<Ref, { name: string }> => 'name' in ref);
  const found = new Set(
    (await tx.topic.findMany({ where: { id: { in: byId.map((ref) => ref.id) } }, select: { id: true } })).map(
      (row) => row.id,
    ),
  );
  for (const ref of byId)
    if (!found.has(ref.id)) issues.add([...path, ref.index, 'id'], 'NOT_FOUND', 'No topic with this id');
  const ids = new Map<string, number>();
  const lookup = async () => {
    const rows = await tx.topic.findMany({
      where: {
        OR: [
          { slug: { in: byName.map((ref) => ref.slug) } },
          { name: { in: byName.map((ref) => ref.name), mode: 'insensitive' } },
        ],
      },
      select: { id: true, name: true, slug: true },
    });
    for (const row of rows) {
      ids.set(`slug:${row.slug}`, row.id);
      ids.set(`name:${row.name.toLowerCase()}`, row.id);
    }
  };
  const idOf = (ref: Extract<Ref, { name: string }>) =>
    ids.get(`slug:${ref.slug}`) ?? ids.get(`name:${ref.name.toLowerCase()}`);
  if (byName.length) {
    await lookup();
    const missing = byName.filter((ref) => idOf(ref) === undefined);
    if (missing.length && options.create) {
      const unique = [...new Map(missing.map((ref) => [ref.slug, ref])).values()].sort((a, b) =>
        a.slug < b.slug ? -1 : 1,
      );
      await tx.$executeRaw`INSERT INTO "Topic" ("name", "slug") SELECT * FROM unnest(${unique.map((r) => r.name)}::text[], ${unique.map((r) => r.slug)}::text[]) ON CONFLICT DO NOTHING`;
      await lookup();
    }
  }
  return refs.map((ref) => ('id' in ref ? ref.id : idOf(ref)));
}

/** Records DUPLICATE for every ref that resolves to an id an earlier ref already named. */
export function checkDistinct(
  issues: Issues,
  path: readonly (string | number)[],
  refs: Ref[],
  ids: (number | undefined)[],
  kind: string,
): void {
  const seen = new Set<number>();
  ids.forEach((id, i) => {
    if (id === undefined) return;
    if (seen.has(id)) issues.add([...path, refs[i]!.index], 'DUPLICATE', `The same ${kind} is listed twice`);
    seen.add(id);
  });
}
