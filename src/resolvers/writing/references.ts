import { cutSlug, SLUG_MAX, slugify } from '../catalog/slugs.ts';
import { checkName, type Issues } from './validation.ts';
import { lockNames, RetryTransaction, type Tx } from './transaction.ts';

/**
 * Author and topic references in article inputs: an existing `id`, or a `name` that is
 * connected when it exists and created when it does not. A name exists when its name key (the
 * database's `newsgraph_name_key`: NFKC_Casefold, whitespace collapsed) matches, so "ZED X",
 * "zed x" and "Zed X" are one author; topics also match by slug. Creation relies on the unique
 * index on the key (INSERT ... ON CONFLICT DO NOTHING, then read), so concurrent writes naming
 * one person in different spellings connect one author.
 */

type Maybe<T> = T | null | undefined;

/**
 * An author or topic reference as the client gives it: exactly one of `id` (a decoded global ID)
 * and `name` (INVALID_REF otherwise).
 */
export interface RefInput {
  id?: Maybe<{ id: string | number }>;
  name?: Maybe<string>;
}

/** A checked reference: by id, or by cleaned name (with its slug for topics). */
export type Ref = { index: number; id: number } | { index: number; name: string; slug: string };
type NameRef = Extract<Ref, { name: string }>;

/** Most authors in one byline and most topics on one article (TOO_MANY beyond). */
export const MAX_LINKS_PER_ARTICLE = { authors: 20, topics: 50 } as const;

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
      issues.add([...at, 'name'], 'INVALID_NAME', 'A topic name needs at least one letter or digit (of any script)');
      return;
    }
    out.push({ index, name, slug });
  });
  return out;
}

const byName = (refs: Ref[]) => refs.filter((ref): ref is NameRef => 'name' in ref);

/**
 * The ids of refs, in the given order: ids as given (checked when locked), names looked up by
 * key and created when new (in key order). A name that vanishes between the insert and the read
 * (a concurrent merge or rename) makes the transaction run again.
 */
async function idsOf(
  refs: Ref[],
  insertNew: (names: NameRef[]) => Promise<unknown>,
  lookup: (names: NameRef[]) => Promise<Map<string, number>>,
): Promise<number[]> {
  const names = byName(refs);
  let found = new Map<string, number>();
  if (names.length) {
    await insertNew(names);
    found = await lookup(names);
    if (names.some((ref) => !found.has(ref.name))) throw new RetryTransaction();
  }
  return refs.map((ref) => ('id' in ref ? ref.id : found.get(ref.name)!));
}

/**
 * Checks refs against the rows `lockRows` found (and locked): a ref by id whose row is gone gets
 * NOT_FOUND; a ref by name whose row vanished after it was read (a concurrent merge) makes the
 * transaction run again. Refs that resolved to nothing (unknown names not created) are skipped.
 */
export function checkLocked(
  present: ReadonlySet<number>,
  issues: Issues,
  path: readonly (string | number)[],
  refs: Ref[],
  ids: readonly (number | undefined)[],
  kind: 'author' | 'topic',
): void {
  refs.forEach((ref, i) => {
    const id = ids[i];
    if (id === undefined || present.has(id)) return;
    if (!('id' in ref)) throw new RetryTransaction();
    issues.add([...path, ref.index, 'id'], 'NOT_FOUND', `No ${kind} with this id`);
  });
}

/** Resolves author refs to ids in the given order, creating authors named for the first time. */
export function resolveAuthorRefs(tx: Tx, refs: Ref[]): Promise<number[]> {
  return idsOf(
    refs,
    async (names) => {
      await lockNames(
        tx,
        'Author',
        names.map((ref) => ref.name),
      );
      return tx.$executeRaw`
      INSERT INTO "Author" ("name")
      SELECT n FROM unnest(${names.map((ref) => ref.name)}::text[]) AS n ORDER BY "newsgraph_name_key"(n)
      ON CONFLICT ("nameKey") DO NOTHING`;
    },
    async (names) => {
      const rows = await tx.$queryRaw<{ name: string; id: number }[]>`
        SELECT n AS "name", a."id" FROM unnest(${names.map((ref) => ref.name)}::text[]) AS n
        JOIN "Author" a ON a."nameKey" = "newsgraph_name_key"(n)`;
      return new Map(rows.map((row) => [row.name, row.id]));
    },
  );
}

/**
 * Resolves topic refs to ids in the given order, creating topics named for the first time
 * (unless `create` is false: then unknown names resolve to undefined). A name is the topic with
 * the same name key; a new one gets the slug of its name, or the first free `slug-2`,
 * `slug-3`... when a topic with another name has it ("C++" is `c`, then "C#" is `c-2`).
 */
export async function resolveTopicRefs(
  tx: Tx,
  refs: Ref[],
  options: { create: boolean } = { create: true },
): Promise<(number | undefined)[]> {
  const names = byName(refs);
  const lookup = async (wanted: NameRef[]) => {
    const rows = await tx.$queryRaw<{ name: string; id: number }[]>`
      SELECT n AS "name", t."id" FROM unnest(${wanted.map((ref) => ref.name)}::text[]) AS n
      JOIN "Topic" t ON t."nameKey" = "newsgraph_name_key"(n)`;
    return new Map(rows.map((row) => [row.name, row.id]));
  };
  const locked =
    names.length && options.create
      ? await lockNames(
          tx,
          'Topic',
          names.map((ref) => ref.name),
          names.map((ref) => ref.slug),
        )
      : 'each';
  const found = names.length ? await lookup(names) : new Map<string, number>();
  if (options.create && locked === 'table') {
    await createTopics(
      tx,
      names.filter((ref) => !found.has(ref.name)),
      found,
    );
  } else if (options.create) {
    for (const ref of names) {
      if (found.has(ref.name)) continue;
      // another spelling of this name earlier in the list may have just created it
      const again = await lookup([ref]);
      if (again.has(ref.name)) {
        found.set(ref.name, again.get(ref.name)!);
        continue;
      }
      const [row] = await tx.$queryRaw<{ id: number }[]>`
        INSERT INTO "Topic" ("name", "slug") VALUES (${ref.name}, ${await freeSlug(tx, ref.slug)})
        ON CONFLICT DO NOTHING RETURNING "id"`;
      if (!row) throw new RetryTransaction();
      found.set(ref.name, row.id);
    }
  }
  return refs.map((ref) => ('id' in ref ? ref.id : found.get(ref.name)));
}

/**
 * Creates the topics of `missing` (names no topic has) in four statements, for a transaction that
 * holds every topic name and slug (lockNames returned `table`): two spellings of one name key make
 * one topic, named as the first; each gets the slug freeSlug would give it, in order (so "C++" is
 * `c` and a later "C#" `c-2`, as when they are created one by one). Sets each name's id in `found`.
 */
async function createTopics(tx: Tx, missing: NameRef[], found: Map<string, number>): Promise<void> {
  if (!missing.length) return;
  const keys = (
    await tx.$queryRaw<{ key: string }[]>`
      SELECT "newsgraph_name_key"(u."n") AS "key"
      FROM unnest(${missing.map((ref) => ref.name)}::text[]) WITH ORDINALITY AS u("n", "i") ORDER BY u."i"`
  ).map((row) => row.key);
  const first = new Map<string, NameRef>();
  missing.forEach((ref, i) => {
    if (!first.has(keys[i]!)) first.set(keys[i]!, ref);
  });
  const takenSlugs = async (slugs: string[]) =>
    (await tx.$queryRaw<{ slug: string }[]>`SELECT "slug" FROM "Topic" WHERE "slug" = ANY(${slugs}::text[])`).map(
      (row) => row.slug,
    );
  const refs = [...first.values()];
  const taken = new Set(
    await takenSlugs([...new Set(refs.map((ref) => ref.slug))].flatMap((base) => slugProbe(base, 1))),
  );
  const slugs: string[] = [];
  for (const ref of refs) {
    let slug: string | undefined;
    for (let from = 1; slug === undefined; from += SLUG_PROBE) {
      const probe = slugProbe(ref.slug, from);
      // past the first probe (looked up with every other): this one's next candidates
      if (from > 1) for (const held of await takenSlugs(probe)) taken.add(held);
      slug = probe.find((candidate) => !taken.has(candidate));
    }
    taken.add(slug);
    slugs.push(slug);
  }
  const rows = await tx.$queryRaw<{ id: number; nameKey: string }[]>`
    INSERT INTO "Topic" ("name", "slug")
    SELECT * FROM unnest(${refs.map((ref) => ref.name)}::text[], ${slugs}::text[])
    ON CONFLICT DO NOTHING RETURNING "id", "nameKey"`;
  // every name and slug is this transaction's to create: a conflict means a name key changed meanwhile
  if (rows.length !== refs.length) throw new RetryTransaction();
  const idOfKey = new Map(rows.map((row) => [row.nameKey, row.id]));
  missing.forEach((ref, i) => found.set(ref.name, idOfKey.get(keys[i]!)!));
}

/** How many slugs (`base`, `base-2`...) freeSlug and createTopics look up at once. */
const SLUG_PROBE = 16;

/**
 * The SLUG_PROBE candidate slugs from the `from`th: `base` (the first), `base-2`, `base-3`...,
 * each within SLUG_MAX (a long base is cut to make room for its number).
 */
const slugProbe = (base: string, from: number) =>
  Array.from({ length: SLUG_PROBE }, (_, i) => {
    if (from + i === 1) return base;
    const suffix = `-${from + i}`;
    return `${cutSlug(base, SLUG_MAX - suffix.length)}${suffix}`;
  });

/**
 * The slug for a topic whose slug follows its name: `base` when no other topic (than `except`)
 * has it, else the first free of `base-2`, `base-3`..., looked up SLUG_PROBE at a time through
 * the slug's unique index (a `LIKE 'base-%'` read every topic: creating n topics cost O(n^2)).
 * The chosen slug is locked (an advisory lock, as lockNames) and checked again, so two writers
 * deriving one slug take turns.
 */
export async function freeSlug(tx: Tx, base: string, except = 0): Promise<string> {
  for (;;) {
    let candidate: string | undefined;
    for (let from = 1; candidate === undefined; from += SLUG_PROBE) {
      const probe = slugProbe(base, from);
      const rows = await tx.$queryRaw<{ slug: string }[]>`
        SELECT "slug" FROM "Topic" WHERE "slug" = ANY(${probe}::text[]) AND "id" <> ${except}`;
      const taken = new Set(rows.map((row) => row.slug));
      candidate = probe.find((slug) => !taken.has(slug));
    }
    await lockNames(tx, 'Topic', [], [candidate]);
    const [holder] = await tx.$queryRaw<{ id: number }[]>`
      SELECT "id" FROM "Topic" WHERE "slug" = ${candidate} AND "id" <> ${except}`;
    if (!holder) return candidate;
  }
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
