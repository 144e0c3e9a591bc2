import { randomBytes } from 'node:crypto';
import {
  coerceInputValue,
  GraphQLError,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import type { Db } from '../../db/client.ts';
import {
  ErrorCode,
  NotFoundError,
  UserInputError,
  ValidationError,
  VersionConflictError,
  type FieldIssue,
} from '../../errors.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { ARTICLE_ORDERS, planArticlePage, type ArticleListArgs } from '../articles/list.ts';
import { sortTerms } from '../lists/order.ts';
import { plannedSearch } from '../articles/search.ts';
import { articleCondition, type ArticleFilterInput } from '../lists/filter.ts';
import type { Viewer } from '../access/viewer.ts';
import { characterProblem } from '../../input/text.ts';
import { checkExpectedVersion, checkName, checkNotNull, Issues } from '../writing/validation.ts';
import { recordedName, requireRole, writeTransaction, type Tx } from '../writing/transaction.ts';
import { encodeGlobalID } from '../../schema/builder.ts';
import type { Watch } from './match.ts';

/**
 * Saved searches: an `articles` question (filter, search, orderBy) kept under a name. The filter
 * and order are stored in the form a client sends them (global IDs, ISO-8601 instants, enum
 * names), so `SavedSearch.filter` gives back what was filed and a stored question reads exactly
 * as the same arguments of `articles` would.
 */

/** Global IDs as Pothos hands them to resolvers. */
type DecodedId = { typename: string; id: string };

const isDecodedId = (value: unknown): value is DecodedId =>
  typeof value === 'object' && value !== null && 'typename' in value && 'id' in value;

/** An argument value as resolvers get it (decoded IDs, Dates) in the form a client sends it. */
export function toClientForm(
  value: unknown,
  type: GraphQLInputType,
  encodeId: (typename: string, id: string) => string,
): unknown {
  if (value == null) return value;
  if (isNonNullType(type)) return toClientForm(value, type.ofType, encodeId);
  if (isListType(type)) {
    const items = Array.isArray(value) ? value : [value];
    return items.map((item) => toClientForm(item, type.ofType, encodeId));
  }
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
      if (field !== undefined && fields[key]) out[key] = toClientForm(field, fields[key].type, encodeId);
    }
    return out;
  }
  if (value instanceof Date) return value.toISOString();
  if (isDecodedId(value)) return encodeId(value.typename, value.id);
  return value;
}

/**
 * A stored value (client form) as resolvers get the argument: coerced by graphql-js (instants
 * to Dates, enum names to values), then global IDs decoded with `decodeId` wherever the type is ID.
 * An ID of a field that takes global IDs of some types only (Pothos relay's `globalID({ for })`)
 * must decode to one of them, as Pothos checks a client's argument: GraphQLError otherwise (a
 * malformed ID, another type's, one past the id range).
 */
export function fromClientForm(
  value: unknown,
  type: GraphQLInputType,
  decodeId: (globalId: string) => DecodedId,
): unknown {
  const coerced = coerceInputValue(value, type);
  const decode = (item: unknown, at: GraphQLInputType, idTypes?: string[]): unknown => {
    if (item == null) return item;
    if (isNonNullType(at)) return decode(item, at.ofType, idTypes);
    if (isListType(at)) return (item as unknown[]).map((entry) => decode(entry, at.ofType, idTypes));
    if (isInputObjectType(at)) {
      const fields = at.getFields();
      return Object.fromEntries(
        Object.entries(item as Record<string, unknown>).map(([key, field]) => {
          const of = fields[key]!;
          const types = of.extensions?.relayGlobalIDFor as { typename: string }[] | null | undefined;
          return [
            key,
            decode(
              field,
              of.type,
              types?.map((entry) => entry.typename),
            ),
          ];
        }),
      );
    }
    if (getNamedType(at).name !== 'ID' || typeof item !== 'string') return item;
    const id = decodeId(item);
    if (idTypes && !idTypes.includes(id.typename)) {
      throw new GraphQLError(
        `ID ${JSON.stringify(item.slice(0, 100))} is not the global ID of ${idTypes.join(' or ')}`,
      );
    }
    return id;
  };
  return decode(coerced, type);
}

/** The stored question, as `articles` arguments. */
export interface SavedQuestion {
  filter: ArticleFilterInput | null;
  search: string | null;
  orderBy: ArticleListArgs['orderBy'];
}

/** Converts between the stored client form and the resolver form of a saved search's arguments. */
export interface ArgumentCodec {
  schema: GraphQLSchema;
  encodeId: (typename: string, id: string) => string;
  decodeId: (globalId: string) => DecodedId;
}

function filterType(codec: ArgumentCodec): GraphQLInputType {
  return codec.schema.getType('ArticleFilter') as GraphQLInputType;
}

function orderType(codec: ArgumentCodec): GraphQLInputType {
  return codec.schema.getTypeMap()['ArticleOrder'] as GraphQLInputType;
}

/**
 * A stored row's question in resolver form, or the refusals of the parts today's schema cannot read
 * (a field, an enum value or a shape it no longer has: a question saved by another version), each
 * with its path (`["filter"]`, `["orderBy"]`) and code BAD_USER_INPUT.
 */
export function storedQuestion(
  row: { filter: Prisma.JsonValue; search: string | null; orderBy: Prisma.JsonValue },
  codec: ArgumentCodec,
): { question: SavedQuestion; refusals: [] } | { question: null; refusals: FieldIssue[] } {
  const refusals: FieldIssue[] = [];
  const decode = <T>(part: 'filter' | 'orderBy', read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      refusals.push({ path: [part], code: ErrorCode.BAD_USER_INPUT, message: `"${part}": ${error.message}` });
      return undefined;
    }
  };
  const filter = decode(
    'filter',
    () => fromClientForm(row.filter ?? {}, filterType(codec), codec.decodeId) as ArticleFilterInput,
  );
  const orders = Array.isArray(row.orderBy) ? row.orderBy : [];
  const orderBy = decode('orderBy', () =>
    orders.length
      ? (orders.map((order) => fromClientForm(order, orderType(codec), codec.decodeId)) as ArticleListArgs['orderBy'])
      : null,
  );
  if (refusals.length) return { question: null, refusals };
  return { question: { filter: filter!, search: row.search, orderBy: orderBy ?? null }, refusals: [] };
}

/**
 * The watch (match.ts) of a stored row's question: what a new article is matched against, one at a
 * time. UserInputError SAVED_SEARCH_OUTDATED (outdatedError) when today's schema or filter rules
 * refuse the stored filter or order (a search is not checked here: one article at a time, any runs).
 */
export function watchOf(
  row: { id: number; name: string; filter: Prisma.JsonValue; search: string | null; orderBy: Prisma.JsonValue },
  codec: ArgumentCodec,
): Watch {
  const read = storedQuestion(row, codec);
  if (!read.question) throw outdatedError(row, read.refusals);
  try {
    return { condition: articleCondition(read.question.filter), search: read.question.search };
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    throw outdatedError(row, [{ path: ['filter'], code: String(error.extensions.code), message: error.message }]);
  }
}

/**
 * What today's rules refuse in a stored question, as `articles` would refuse the same arguments
 * (storedQuestion, then checkQuestion: the filter, the search, the order), with paths from the
 * question (`["filter"]`, `["search"]`, `["orderBy"]`); empty when it runs. A question is checked
 * when saved, so only rules made stricter since (a `text` filter of fewer than 3 letters, a search
 * that only excludes) or a schema that changed find anything. One statement when the search has a
 * `-` (plannedSearch), else none.
 */
export async function questionRefusals(
  db: Db,
  row: { filter: Prisma.JsonValue; search: string | null; orderBy: Prisma.JsonValue },
  codec: ArgumentCodec,
): Promise<FieldIssue[]> {
  return (await checkedQuestion(db, row, codec)).refusals;
}

/**
 * The stored question of `row`, checked as `articles` checks its arguments: UserInputError
 * SAVED_SEARCH_OUTDATED (with `refusals`) when today's rules refuse it, so that a reader is told
 * the saved search needs updating rather than that arguments it never sent are wrong.
 */
export async function runnableQuestion(
  db: Db,
  row: { id: number; name: string; filter: Prisma.JsonValue; search: string | null; orderBy: Prisma.JsonValue },
  codec: ArgumentCodec,
): Promise<SavedQuestion> {
  const { question, refusals } = await checkedQuestion(db, row, codec);
  if (refusals.length) throw outdatedError(row, refusals);
  return question!;
}

/** storedQuestion, then checkQuestion on what it read: the question and every refusal (paths without `input`). */
async function checkedQuestion(
  db: Db,
  row: { filter: Prisma.JsonValue; search: string | null; orderBy: Prisma.JsonValue },
  codec: ArgumentCodec,
): Promise<{ question: SavedQuestion | null; refusals: FieldIssue[] }> {
  const read = storedQuestion(row, codec);
  if (!read.question) return read;
  const issues = new Issues();
  await checkQuestion(db, issues, read.question);
  return { question: read.question, refusals: issues.list.map((issue) => ({ ...issue, path: issue.path.slice(1) })) };
}

/** SAVED_SEARCH_OUTDATED for saved search `saved`, naming the first refusal; `refusals` lists them all. */
function outdatedError(saved: { id: number; name: string }, refusals: FieldIssue[]): UserInputError {
  const [first] = refusals;
  return new UserInputError(
    ErrorCode.SAVED_SEARCH_OUTDATED,
    `The saved search ${JSON.stringify(saved.name)} holds a question today's rules refuse (${first!.message}); an editor can fix it with updateSavedSearch`,
    { refusals },
  );
}

/** The `input` of createSavedSearch and updateSavedSearch, as resolvers get it. */
export interface SavedSearchInput {
  name?: string | null;
  filter?: ArticleFilterInput | null;
  search?: string | null;
  orderBy?: ArticleListArgs['orderBy'];
}

/**
 * Checks a question as `articles` checks its arguments (the filter's limits and ranges, the
 * search text, the order: RELEVANCE needs a search), reporting each refusal as a field of `issues`
 * with the code the `articles` argument would get.
 */
async function checkQuestion(db: Db, issues: Issues, question: SavedQuestion): Promise<void> {
  // the characters `articles` refuses at its boundary (NUL, lone surrogates), which a stored
  // JSON value could not hold either
  const before = issues.list.length;
  const scan = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      const problem = characterProblem(value);
      if (problem) issues.add(path, 'INVALID_CHARACTER', problem);
    } else if (Array.isArray(value)) value.forEach((item, index) => scan(item, [...path, index]));
    else if (value && typeof value === 'object' && !(value instanceof Date)) {
      for (const [key, item] of Object.entries(value)) scan(item, [...path, key]);
    }
  };
  scan(question.filter, ['input', 'filter']);
  scan(question.search, ['input', 'search']);
  if (issues.list.length > before) return;
  const at = (name: string, run: () => unknown) => {
    try {
      return run();
    } catch (error) {
      if (!(error instanceof UserInputError)) throw error;
      issues.add(['input', name], String(error.extensions.code), error.message);
    }
  };
  at('filter', () => articleCondition(question.filter));
  if (question.search != null) {
    try {
      await plannedSearch(db, question.search, 'search');
    } catch (error) {
      if (!(error instanceof UserInputError)) throw error;
      issues.add(['input', 'search'], String(error.extensions.code), error.message);
    }
  }
  // RELEVANCE only with a search, as `articles` says (the filter was checked above, on its own)
  at('orderBy', () =>
    question.search != null
      ? sortTerms(question.orderBy, ARTICLE_ORDERS, [])
      : planArticlePage({ orderBy: question.orderBy }),
  );
}

/** A new feed token: 192 random bits, URL-safe. */
export function newFeedToken(): string {
  return randomBytes(24).toString('base64url');
}

function stored(question: SavedQuestion, codec: ArgumentCodec) {
  return {
    filter: (toClientForm(question.filter ?? {}, filterType(codec), codec.encodeId) ?? {}) as Prisma.InputJsonValue,
    search: question.search,
    orderBy: (question.orderBy ?? []).map((order) =>
      toClientForm(order, orderType(codec), codec.encodeId),
    ) as Prisma.InputJsonValue,
  };
}

/**
 * Saves a question under `name` (EDITOR); returns `{ id }`. ValidationError: the name (REQUIRED,
 * TOO_LONG...), and the filter, search or order with the code `articles` would answer
 * (BAD_USER_INPUT, OUT_OF_RANGE...).
 */
export async function createSavedSearch(db: Db, input: SavedSearchInput, viewer: Viewer, codec: ArgumentCodec) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const name = checkName(issues, ['input', 'name'], input.name ?? '');
  const question = { filter: input.filter ?? null, search: input.search ?? null, orderBy: input.orderBy ?? null };
  await checkQuestion(db, issues, question);
  issues.throwIfAny();
  return writeTransaction(db, (tx) =>
    tx.savedSearch.create({
      data: { name: name!, ...stored(question, codec), feedToken: newFeedToken(), createdBy: recordedName(viewer) },
      select: { id: true },
    }),
  );
}

/**
 * Changes the given parts of a saved search (EDITOR): a part given as null is cleared (filter,
 * search, orderBy). ValidationError as createSavedSearch and NOTHING_TO_UPDATE, NotFoundError,
 * VersionConflictError when it is no longer at `expectedVersion`.
 */
export async function updateSavedSearch(
  db: Db,
  input: SavedSearchInput & { id: { id: string | number }; expectedVersion: number },
  viewer: Viewer,
  codec: ArgumentCodec,
) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  const issues = new Issues();
  checkExpectedVersion(issues, input.expectedVersion);
  const name =
    input.name !== undefined && checkNotNull(issues, ['input', 'name'], input.name)
      ? checkName(issues, ['input', 'name'], input.name!)
      : undefined;
  const given = (['filter', 'search', 'orderBy'] as const).filter((key) => input[key] !== undefined);
  if (input.name === undefined && !given.length) {
    issues.add(['input'], 'NOTHING_TO_UPDATE', 'Give at least one field to change');
  }
  issues.throwIfAny();
  return writeTransaction(db, async (tx) => {
    const [current] = await tx.$queryRaw<
      { version: number; filter: Prisma.JsonValue; search: string | null; orderBy: Prisma.JsonValue }[]
    >`
      SELECT "version", "filter", "search", "orderBy" FROM "SavedSearch" WHERE "id" = ${id} FOR UPDATE`;
    if (!current) throw new NotFoundError('SavedSearch', id);
    if (current.version !== input.expectedVersion) throw new VersionConflictError(id, current.version, 'SavedSearch');
    // the parts kept as they were; a part today's schema cannot read must be given anew (a
    // ValidationError naming it, with the refusal), never a failure of the update itself
    const kept = {
      filter: input.filter !== undefined ? {} : current.filter,
      search: null,
      orderBy: input.orderBy !== undefined ? [] : current.orderBy,
    };
    const read = storedQuestion(kept, codec);
    if (!read.question)
      throw new ValidationError(read.refusals.map((issue) => ({ ...issue, path: ['input', ...issue.path] })));
    const was = { ...read.question, search: current.search };
    const question: SavedQuestion = {
      filter: input.filter !== undefined ? input.filter : was.filter,
      search: input.search !== undefined ? input.search : was.search,
      orderBy: input.orderBy !== undefined ? input.orderBy : was.orderBy,
    };
    const checks = new Issues();
    await checkQuestion(tx as unknown as Db, checks, question);
    checks.throwIfAny();
    return tx.savedSearch.update({
      where: { id },
      data: {
        ...(name !== undefined ? { name } : {}),
        ...stored(question, codec),
        version: { increment: 1 },
        updatedAt: new Date(),
      },
      select: { id: true },
    });
  });
}

/** Deletes a saved search with its webhooks and their deliveries (EDITOR); NotFoundError. */
export async function deleteSavedSearch(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  await writeTransaction(db, async (tx) => {
    const deleted = await tx.savedSearch.deleteMany({ where: { id } });
    if (!deleted.count) throw new NotFoundError('SavedSearch', id);
  });
  return { id };
}

/** Gives a saved search a new feed token (EDITOR): the old feed URLs answer 404 from then on. */
export async function rotateFeedToken(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  return writeTransaction(db, async (tx) => {
    const rows = await tx.savedSearch.updateMany({
      where: { id },
      data: { feedToken: newFeedToken(), updatedAt: new Date() },
    });
    if (!rows.count) throw new NotFoundError('SavedSearch', id);
    return { id };
  });
}

/**
 * Points the saved searches whose filter names an author or topic (`typename`) of `sources` by id
 * (an `id: { equals, in }` condition, at any depth) at `target` instead, in the transaction of
 * the merge that takes the sources away (mergeAuthors, mergeTopics), moving each one's version.
 * Their lists, feeds, webhooks and new subscriptions then show the merged articles, as the
 * question did before the merge; they went empty without a word. Rows locked FOR UPDATE after
 * everything else the merge locks (the last step of the lock order, writing/transaction.ts).
 * Returns how many saved searches changed.
 */
export async function retargetSavedSearches(
  tx: Tx,
  typename: 'Author' | 'Topic',
  sources: readonly number[],
  target: number,
): Promise<number> {
  const into = encodeGlobalID(typename, target);
  const moved = new Map(sources.map((id) => [encodeGlobalID(typename, id), into]));
  // a global ID is base64: no LIKE wildcard or escape in it
  const rows = await tx.$queryRaw<{ id: number; filter: Prisma.JsonValue }[]>`
    SELECT "id", "filter" FROM "SavedSearch"
    WHERE "filter"::text LIKE ANY(${[...moved.keys()].map((id) => `%"${id}"%`)}::text[])
    ORDER BY "id" FOR UPDATE`;
  const changed = rows
    .map((row) => ({ id: row.id, before: row.filter, filter: retargetIds(row.filter, moved) }))
    .filter((row) => JSON.stringify(row.filter) !== JSON.stringify(row.before))
    .map(({ id, filter }) => ({ id, filter }));
  if (!changed.length) return 0;
  // every one in one statement
  await tx.$executeRaw`
    UPDATE "SavedSearch" s SET "filter" = r."filter", "version" = s."version" + 1, "updatedAt" = now()
    FROM jsonb_to_recordset(${JSON.stringify(changed)}::jsonb) AS r("id" int, "filter" jsonb)
    WHERE s."id" = r."id"`;
  return changed.length;
}

/** `value` (a stored filter) with the IDs of every `id: { equals, in }` condition moved as `moved` says (`in` without repeats). */
function retargetIds(value: Prisma.JsonValue, moved: ReadonlyMap<string, string>): Prisma.JsonValue {
  if (Array.isArray(value)) return value.map((item) => retargetIds(item, moved));
  if (value === null || typeof value !== 'object') return value;
  const move = (id: Prisma.JsonValue) => (typeof id === 'string' ? (moved.get(id) ?? id) : id);
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => {
      if (key !== 'id' || field === null || typeof field !== 'object' || Array.isArray(field))
        return [key, retargetIds(field ?? null, moved)];
      const ids = { ...field };
      if ('equals' in ids) ids.equals = move(ids.equals ?? null);
      if (Array.isArray(ids.in)) ids.in = [...new Set(ids.in.map(move))];
      return [key, ids];
    }),
  );
}
