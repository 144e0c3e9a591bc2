import { ErrorCode, UserInputError } from '../../errors.ts';
import { boundMs } from '../../input/instant.ts';
import { codePoints, isBlank, withoutInvisible } from '../../input/text.ts';
import {
  all,
  any,
  not,
  QUANTIFIERS,
  type Comparison,
  type Condition,
  type Quantifier,
  type Relation,
} from './condition.ts';
import { WORK_COSTS } from './work.ts';
import { INT2, INT4 } from '../../db/ranges.ts';

/**
 * The public filters (ArticleFilter, AuthorFilter, TopicFilter, AuthorListFilter,
 * TopicListFilter) are defined here once, as FilterDefinitions: the schema builds their GraphQL
 * input types from them (schema/lists.ts), `readFilter` reads a given filter into a Condition
 * (condition.ts) that either backend runs, and the query cost prices a filter with the same
 * reading (filterCost). Adding a filter field is one entry in a definition below (plus its test).
 *
 * Search texts (`search`, and `nameSearch` inside the catalog filters) are checked here too
 * (checkSearchText), so that what a client may send to a list is read in one place.
 *
 * Errors: a filter past FILTER_LIMITS, a number outside its column's range, a `text` needle
 * without a trigram, a blank or too long search, all throw BAD_USER_INPUT naming the argument
 * (`extensions.argumentName`).
 */

type Maybe<T> = T | null | undefined;

/** Text operators (case-insensitive; `%` and `_` match only themselves). GraphQL: StringFilter. */
export interface StringFilterInput {
  equals?: Maybe<string>;
  in?: Maybe<readonly string[]>;
  contains?: Maybe<string>;
  startsWith?: Maybe<string>;
}
/** Integer operators. GraphQL: IntFilter. */
export interface IntFilterInput {
  equals?: Maybe<number>;
  in?: Maybe<readonly number[]>;
  gt?: Maybe<number>;
  gte?: Maybe<number>;
  lt?: Maybe<number>;
  lte?: Maybe<number>;
}
/** Instant operators (compared at millisecond precision, see input/instant.ts). GraphQL: DateTimeFilter. */
export interface DateTimeFilterInput {
  gt?: Maybe<Date>;
  gte?: Maybe<Date>;
  lt?: Maybe<Date>;
  lte?: Maybe<Date>;
}
/**
 * Global IDs of one node type, as the relay plugin decodes them: `{ typename, id }`. GraphQL:
 * AuthorIDFilter, TopicIDFilter. (Before execution, when the cost is priced, they are still the
 * encoded strings: see filterCost.)
 */
export interface IdFilterInput {
  equals?: Maybe<{ id: string | number }>;
  in?: Maybe<readonly { id: string | number }[]>;
}
/** A quantified condition on a to-many relation. GraphQL: AuthorRelationFilter, TopicRelationFilter. */
export interface RelationFilterInput<F> {
  some?: Maybe<F>;
  every?: Maybe<F>;
  none?: Maybe<F>;
}

/** The node types whose global IDs a filter can name. */
export type FilterNode = 'Author' | 'Topic';

/**
 * One field of a filter: how it reads and what it asks of a row. By kind (GraphQL input type):
 * - `int` (IntFilter), `instant` (DateTimeFilter), `string` (StringFilter), `boolean` (Boolean):
 *   conditions on `column`; an int is refused outside `range`;
 * - `id` (`<node>IDFilter`): the row's global ID;
 * - `substring` (String): case-insensitive substring of any of `columns`, trigram-indexed (MIN_TEXT_RUN);
 * - `similarity` (String): ranks by name similarity; read by the list that ranks (catalog/list.ts),
 *   priced here, no condition;
 * - `related` (`relationInput`): some, every or none of the rows linked through `relation` match
 *   the filter `of` (`noun` names one such row in descriptions);
 * - `and` ([Self]), `or` ([Self]), `not` (Self): the filter itself, nested (FILTER_LIMITS.maxDepth).
 */
export type FilterField = { description?: string } & (
  | { kind: 'int'; column: string; range: IntRange }
  | { kind: 'instant'; column: string }
  | { kind: 'string'; column: string }
  | { kind: 'boolean'; column: string }
  | { kind: 'id'; node: FilterNode }
  | { kind: 'substring'; columns: readonly string[] }
  | { kind: 'similarity' }
  | { kind: 'related'; relation: Relation; of: FilterDefinition; relationInput: string; noun: string }
  | { kind: 'and' }
  | { kind: 'or' }
  | { kind: 'not' }
);

/** A public filter: its GraphQL input type's name and description, and its fields in reading order. */
export interface FilterDefinition {
  name: string;
  description: string;
  fields: Readonly<Record<string, FilterField>>;
}

/** The value each kind of field takes (see FilterField); `related`, `and`, `or` and `not` hold filters. */
interface KindValues {
  int: IntFilterInput;
  instant: DateTimeFilterInput;
  string: StringFilterInput;
  boolean: boolean;
  id: IdFilterInput;
  substring: string;
  similarity: string;
  related: RelationFilterInput<object>;
  and: readonly object[];
  or: readonly object[];
  not: object;
}

type InputOf<F, Self> = F extends { kind: 'related'; of: { fields: infer Of } }
  ? RelationFilterInput<FilterInput<Of>>
  : F extends { kind: 'and' | 'or' }
    ? readonly Self[]
    : F extends { kind: 'not' }
      ? Self
      : F extends { kind: infer K extends keyof KindValues }
        ? KindValues[K]
        : never;

/** The value of a filter argument whose definition has these fields (every field optional). */
export type FilterInput<Fields> = { [K in keyof Fields]?: Maybe<InputOf<Fields[K], FilterInput<Fields>>> };

/**
 * Limits on the shape of one filter argument: hostile inputs are refused, not truncated. Depth
 * counts AND/OR/NOT levels; conditions count one per string operator and one per number, date,
 * ID or boolean filter, OR, NOT, text, nameSearch and relation quantifier; relations count the
 * `some`/`every`/`none` quantifiers (each a semi-join through the links); objects count every
 * filter object read, empty ones and AND items included; lengths are in list items and code
 * points.
 */
export const FILTER_LIMITS = {
  maxDepth: 5,
  maxConditions: 100,
  maxRelations: 10,
  maxObjects: 500,
  maxListLength: 100,
  maxStringLength: 500,
} as const;

/** Letters or digits a `text` needle must have in a row: one trigram (pg_trgm). */
export const MIN_TEXT_RUN = 3;
/**
 * MIN_TEXT_RUN word characters in a row as pg_trgm reads them: letters and digits by the C library's
 * `iswalnum`, which on glibc's UTF-8 locales is Unicode's Alphabetic property or a decimal digit.
 * So Devanagari's vowel signs count ("हिंदी" is five), while a combining accent does not (after NFC
 * composition, `e` + U+0301 is one letter, `é`; an accent left over breaks the run, as it does for
 * pg_trgm).
 */
const TEXT_RUN = new RegExp(`[\\p{Alphabetic}\\p{Nd}]{${MIN_TEXT_RUN}}`, 'u');

/** The columns `text` searches, in the order the backends test them. */
export const TEXT_COLUMNS = ['title', 'description', 'summary', 'body'] as const;

/**
 * Words one search may hold (`or` and `-` not counted). Matching, ranking and above all
 * highlighting (ts_headline) grow with the query: a 44-word phrase search took 650 ms per
 * 50,000-character body to highlight, a 10-word one a few ms per 10,000 characters.
 */
export const MAX_SEARCH_WORDS = 10;

/**
 * `-` one search may hold: each may be an exclusion, and PostgreSQL's websearch_to_tsquery fails
 * (XX000 "tsquery stack too small") on more than 32 of them in a row. Twice the words allows a
 * hyphenated word or exclusion for every word.
 */
export const MAX_SEARCH_DASHES = 2 * MAX_SEARCH_WORDS;

/** Separators other than the ASCII space (no-break, em, ideographic spaces, line separators...). */
const OTHER_SPACES = /[\p{Zs}\u2028\u2029]/gu;

/**
 * A search text: without invisible format characters (zero-width space, soft hyphen, BOM...),
 * every other space as an ASCII space, trimmed; so PostgreSQL's parser splits it into the same
 * words on every version (PostgreSQL 15 breaks words at an em or ideographic space, PGlite's 18
 * did not). BAD_USER_INPUT when it is blank (nothing visible), longer than the filter string
 * limit in characters, or has more than MAX_SEARCH_WORDS words or MAX_SEARCH_DASHES `-`.
 */
export function checkSearchText(value: string, argumentName: string): string {
  const text = withoutInvisible(value).replace(OTHER_SPACES, ' ').trim();
  if (isBlank(text))
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${argumentName}" must contain a word`, { argumentName });
  if (codePoints(text) > FILTER_LIMITS.maxStringLength) {
    throw new UserInputError(
      ErrorCode.BAD_USER_INPUT,
      `"${argumentName}" is longer than ${FILTER_LIMITS.maxStringLength} characters`,
      { argumentName },
    );
  }
  const words = (text.match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).filter((word) => word.toLowerCase() !== 'or');
  if (words.length > MAX_SEARCH_WORDS) {
    throw new UserInputError(
      ErrorCode.BAD_USER_INPUT,
      `"${argumentName}" has ${words.length} words; at most ${MAX_SEARCH_WORDS}`,
      { argumentName, max: MAX_SEARCH_WORDS },
    );
  }
  const dashes = text.split('-').length - 1;
  if (dashes > MAX_SEARCH_DASHES) {
    throw new UserInputError(
      ErrorCode.BAD_USER_INPUT,
      `"${argumentName}" has ${dashes} "-"; at most ${MAX_SEARCH_DASHES}`,
      { argumentName, max: MAX_SEARCH_DASHES },
    );
  }
  return text;
}

/** An inclusive integer range. */
export interface IntRange {
  min: number;
  max: number;
}

/** What the integer columns hold: priority is a smallint, ids are integers. */
export const INT_COLUMNS = {
  priority: INT2,
  id: INT4,
} as const satisfies Record<string, IntRange>;

/** The GraphQL description of `nameSearch` in AuthorListFilter and TopicListFilter. */
const NAME_SEARCH_DESCRIPTION =
  'Names resembling this text, even misspelt or partial ("ghafary" finds "Shirin Ghaffary"), by trigram similarity. Orders by RELEVANCE (most similar first) unless `orderBy` says otherwise.';

/** AuthorFilter: what an article's author must match (`ArticleFilter.authors`). */
export const AUTHOR_FILTER = {
  name: 'AuthorFilter',
  description: "Conditions on an article's author.",
  fields: { id: { kind: 'id', node: 'Author' }, name: { kind: 'string', column: 'name' } },
} as const satisfies FilterDefinition;

/** TopicFilter: what an article's topic must match (`ArticleFilter.topics`). */
export const TOPIC_FILTER = {
  name: 'TopicFilter',
  description: "Conditions on an article's topic.",
  fields: {
    id: { kind: 'id', node: 'Topic' },
    name: { kind: 'string', column: 'name' },
    slug: { kind: 'string', column: 'slug' },
  },
} as const satisfies FilterDefinition;

/** AuthorListFilter: the `authors` query's filter, AuthorFilter plus a ranked `nameSearch`. */
export const AUTHOR_LIST_FILTER = {
  name: 'AuthorListFilter',
  description: 'Which authors to list. All given conditions must hold.',
  fields: { ...AUTHOR_FILTER.fields, nameSearch: { kind: 'similarity', description: NAME_SEARCH_DESCRIPTION } },
} as const satisfies FilterDefinition;

/** TopicListFilter: the `topics` query's filter, TopicFilter plus a ranked `nameSearch`. */
export const TOPIC_LIST_FILTER = {
  name: 'TopicListFilter',
  description: 'Which topics to list. All given conditions must hold.',
  fields: { ...TOPIC_FILTER.fields, nameSearch: { kind: 'similarity', description: NAME_SEARCH_DESCRIPTION } },
} as const satisfies FilterDefinition;

/** ArticleFilter: the `filter` of every article list, facet and histogram. */
export const ARTICLE_FILTER = {
  name: 'ArticleFilter',
  description: 'All given conditions must hold; combine with AND, OR and NOT.',
  fields: {
    AND: { kind: 'and' },
    OR: { kind: 'or' },
    NOT: { kind: 'not' },
    priority: { kind: 'int', column: 'priority', range: INT_COLUMNS.priority },
    publishedAt: { kind: 'instant', column: 'publishedAt' },
    createdAt: { kind: 'instant', column: 'createdAt' },
    isAustralian: { kind: 'boolean', column: 'isAustralian' },
    source: { kind: 'string', column: 'source' },
    title: { kind: 'string', column: 'title' },
    text: {
      kind: 'substring',
      columns: TEXT_COLUMNS,
      description: `Case-insensitive substring of the title, description, summary or body, found through trigram indexes. It needs ${MIN_TEXT_RUN} letters or digits in a row (BAD_USER_INPUT otherwise): use \`search\` for shorter words.`,
    },
    authors: {
      kind: 'related',
      relation: 'authors',
      of: AUTHOR_FILTER,
      relationInput: 'AuthorRelationFilter',
      noun: 'author',
    },
    topics: {
      kind: 'related',
      relation: 'topics',
      of: TOPIC_FILTER,
      relationInput: 'TopicRelationFilter',
      noun: 'topic',
    },
  },
} as const satisfies FilterDefinition;

/** Every public filter, by GraphQL input type name (the cost prices arguments of these types). */
export const FILTERS: Readonly<Record<string, FilterDefinition>> = Object.fromEntries(
  [ARTICLE_FILTER, AUTHOR_FILTER, TOPIC_FILTER, AUTHOR_LIST_FILTER, TOPIC_LIST_FILTER].map((filter) => [
    filter.name,
    filter,
  ]),
);

/** ArticleFilter's value. */
export type ArticleFilterInput = FilterInput<(typeof ARTICLE_FILTER)['fields']>;
/** AuthorListFilter's value (AuthorFilter's, plus nameSearch). */
export type AuthorListFilterInput = FilterInput<(typeof AUTHOR_LIST_FILTER)['fields']>;
/** TopicListFilter's value (TopicFilter's, plus nameSearch). */
export type TopicListFilterInput = FilterInput<(typeof TOPIC_LIST_FILTER)['fields']>;

/**
 * One reading of one filter argument: counts its conditions against FILTER_LIMITS and refuses
 * what is past them, naming the argument in the error, and adds up its database work
 * (WORK_COSTS) as it goes.
 */
export class FilterLimiter {
  private conditions = 0;
  private relations = 0;
  private objects = 0;
  /** The database work read so far, in WORK_COSTS units. */
  work = 0;
  constructor(readonly argumentName: string) {}
  /** Throws BAD_USER_INPUT: `"<argument>": <message>`. */
  fail(message: string): never {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${this.argumentName}": ${message}`, {
      argumentName: this.argumentName,
    });
  }
  /** One more condition, costing `work`; past maxConditions, refused. */
  count(work = 0): void {
    this.work += work;
    this.conditions += 1;
    if (this.conditions > FILTER_LIMITS.maxConditions) this.fail(`more than ${FILTER_LIMITS.maxConditions} conditions`);
  }
  /** One more filter object read; past maxObjects, refused. */
  object(): void {
    this.objects += 1;
    if (this.objects > FILTER_LIMITS.maxObjects) this.fail(`more than ${FILTER_LIMITS.maxObjects} filter objects`);
  }
  /** One more relation quantifier (a condition priced WORK_COSTS.relation); past maxRelations, refused. */
  relation(): void {
    this.relations += 1;
    if (this.relations > FILTER_LIMITS.maxRelations)
      this.fail(`more than ${FILTER_LIMITS.maxRelations} authors/topics conditions (some, every, none)`);
    this.count(WORK_COSTS.relation);
  }
  /** A list operand: at most maxListLength items. */
  list<T>(values: readonly T[], what: string): readonly T[] {
    if (values.length > FILTER_LIMITS.maxListLength)
      this.fail(`${what} has more than ${FILTER_LIMITS.maxListLength} values`);
    return values;
  }
  /**
   * A filter string compared with a label column (title, source, name, slug), at most
   * maxStringLength characters (code points), read as a label is written (validation.ts
   * checkText): in Normalization Form C, invisible format characters dropped (zero-width space,
   * soft hyphen, direction marks...) and every run of whitespace one space, trimmed when `exact`
   * (equals, in). One with nothing visible in it is taken as empty.
   */
  text(value: string, what: string, exact = true): string {
    this.length(value, what);
    const label = withoutInvisible(value.normalize('NFC')).replace(/\s+/g, ' ');
    if (isBlank(label)) return '';
    return exact ? label.trim() : label;
  }
  /**
   * A `text` needle (title, description, summary, body): at most maxStringLength characters,
   * in Normalization Form C (as text is stored), invisible format characters dropped (as `search`
   * drops them; the long texts keep their spacing, so spaces are kept as given). Empty when nothing
   * but spaces remains (no condition);
   * otherwise it must hold a run of MIN_TEXT_RUN letters or digits (TEXT_RUN), or it is refused:
   * trigram indexes find only needles with a whole trigram in them, and a shorter one (`"`, `ab`,
   * combining marks alone) would read every article's text.
   */
  needle(value: string, what: string): string {
    this.length(value, what);
    const text = withoutInvisible(value.normalize('NFC'));
    if (!text.trim()) return '';
    if (!TEXT_RUN.test(text)) {
      this.fail(
        `"${what}" needs ${MIN_TEXT_RUN} letters or digits in a row (shorter text matches most articles); use "search" for short words such as "AI"`,
      );
    }
    return text;
  }
  /** A filter string of at most maxStringLength characters (code points), or refused. */
  private length(value: string, what: string): void {
    if (codePoints(value) > FILTER_LIMITS.maxStringLength)
      this.fail(`${what} is longer than ${FILTER_LIMITS.maxStringLength} characters`);
  }
  /** A number compared with a column: within what the column holds, or refused (not clamped). */
  int(value: number, what: string, range: IntRange): number {
    if (value < range.min || value > range.max) this.fail(`${what} must be from ${range.min} to ${range.max}`);
    return value;
  }
}

function stringConditions(column: string, input: StringFilterInput, limiter: FilterLimiter): Condition[] {
  const out: Condition[] = [];
  if (input.equals != null) {
    limiter.count(WORK_COSTS.condition);
    out.push({ kind: 'text', column, match: 'equals', value: limiter.text(input.equals, column) });
  }
  if (input.in != null) {
    limiter.count(WORK_COSTS.condition);
    const values = limiter.list(input.in, `${column}.in`).map((value) => limiter.text(value, column));
    out.push({ kind: 'textIn', column, values });
  }
  for (const match of ['contains', 'startsWith'] as const) {
    const given = input[match];
    if (given == null) continue;
    limiter.count(WORK_COSTS.pattern);
    // every text contains (and starts with) the empty text: no condition
    const value = limiter.text(given, column, false);
    if (value) out.push({ kind: 'text', column, match, value });
  }
  return out;
}

const COMPARISONS = ['gt', 'gte', 'lt', 'lte'] as const satisfies readonly Comparison[];

function intConditions(column: string, input: IntFilterInput, limiter: FilterLimiter, range: IntRange): Condition[] {
  const checked = (value: number) => limiter.int(value, column, range);
  const out: Condition[] = [];
  if (input.equals != null) out.push({ kind: 'compare', column, comparison: 'equals', value: checked(input.equals) });
  if (input.in != null) out.push({ kind: 'in', column, values: limiter.list(input.in, `${column}.in`).map(checked) });
  for (const comparison of COMPARISONS) {
    const value = input[comparison];
    if (value != null) out.push({ kind: 'compare', column, comparison, value: checked(value) });
  }
  limiter.count(out.length * WORK_COSTS.condition);
  return out;
}

function instantConditions(column: string, input: DateTimeFilterInput, limiter: FilterLimiter): Condition[] {
  const out: Condition[] = [];
  for (const comparison of COMPARISONS) {
    const value = input[comparison];
    if (value != null) out.push({ kind: 'compare', column, comparison, value: boundMs(value, comparison) });
  }
  limiter.count(out.length * WORK_COSTS.condition);
  return out;
}

/** A decoded global ID's row id; an ID not yet decoded (the cost's reading, see filterCost) has none: NaN. */
function rowId(ref: { id: string | number } | string): number {
  return typeof ref === 'object' ? Number(ref.id) : NaN;
}

function idConditions(input: IdFilterInput, limiter: FilterLimiter): Condition[] {
  return intConditions(
    'id',
    {
      equals: input.equals != null ? rowId(input.equals) : null,
      in: input.in != null ? limiter.list(input.in, 'id.in').map(rowId) : null,
    },
    limiter,
    INT_COLUMNS.id,
  );
}

/** Where a field is read: its filter, the AND/OR/NOT depth, the argument's limiter, the field's name. */
interface Reading {
  definition: FilterDefinition;
  depth: number;
  limiter: FilterLimiter;
  key: string;
}

type Reader<K extends FilterField['kind']> = (
  field: Extract<FilterField, { kind: K }>,
  value: KindValues[K],
  at: Reading,
) => Condition[];

/** How each kind of field reads its value into conditions, counting and pricing them. */
const READERS: { [K in FilterField['kind']]: Reader<K> } = {
  and: (_field, value, at) =>
    at.limiter.list(value, at.key).map((sub) => readAt(at.definition, sub, at.depth + 1, at.limiter)),
  or: (_field, value, at) => {
    at.limiter.count();
    return [any(at.limiter.list(value, at.key).map((sub) => readAt(at.definition, sub, at.depth + 1, at.limiter)))];
  },
  not: (_field, value, at) => {
    at.limiter.count();
    return [not(readAt(at.definition, value, at.depth + 1, at.limiter))];
  },
  int: (field, value, at) => intConditions(field.column, value, at.limiter, field.range),
  instant: (field, value, at) => instantConditions(field.column, value, at.limiter),
  string: (field, value, at) => stringConditions(field.column, value, at.limiter),
  boolean: (field, value, at) => {
    at.limiter.count(WORK_COSTS.condition);
    return [{ kind: 'compare', column: field.column, comparison: 'equals', value }];
  },
  id: (_field, value, at) => idConditions(value, at.limiter),
  substring: (field, value, at) => {
    at.limiter.count(WORK_COSTS.text);
    const needle = at.limiter.needle(value, at.key);
    return needle
      ? [any(field.columns.map((column) => ({ kind: 'text', column, match: 'contains', value: needle })))]
      : [];
  },
  // ranked by the list that reads it (catalog/list.ts): checked, priced and counted; no condition
  similarity: (_field, value, at) => {
    at.limiter.count(WORK_COSTS.pattern);
    checkSearchText(value, `${at.limiter.argumentName}.${at.key}`);
    return [];
  },
  related: (field, value, at) =>
    (Object.keys(QUANTIFIERS) as Quantifier[]).flatMap((quantifier) => {
      const of = value[quantifier];
      if (of == null) return [];
      at.limiter.relation();
      // the related filter has no AND/OR/NOT: it adds no depth
      const condition = readAt(field.of, of, at.depth, at.limiter);
      return [{ kind: 'related', relation: field.relation, quantifier, condition } satisfies Condition];
    }),
};

function readAt(definition: FilterDefinition, input: object, depth: number, limiter: FilterLimiter): Condition {
  if (depth > FILTER_LIMITS.maxDepth) limiter.fail(`AND/OR/NOT nested deeper than ${FILTER_LIMITS.maxDepth}`);
  limiter.object();
  const values = new Map(Object.entries(input));
  const parts: Condition[] = [];
  for (const [key, field] of Object.entries(definition.fields)) {
    const value: unknown = values.get(key);
    if (value == null) continue;
    // the schema gives each field the GraphQL type of its kind, so the value is the kind's
    const read = READERS[field.kind] as (field: FilterField, value: unknown, at: Reading) => Condition[];
    parts.push(...read(field, value, { definition, depth, limiter, key }));
  }
  return all(parts);
}

/**
 * The Condition a filter argument's value asks for (none: always true). `argumentName` is the
 * argument the errors name. Throws BAD_USER_INPUT past FILTER_LIMITS or a column's range.
 */
export function readFilter(
  definition: FilterDefinition,
  input: object | null | undefined,
  argumentName = 'filter',
): Condition {
  return input ? readAt(definition, input, 0, new FilterLimiter(argumentName)) : all([]);
}

/** The condition of an ArticleFilter (readFilter). */
export function articleCondition(input: ArticleFilterInput | null | undefined, argumentName = 'filter'): Condition {
  return readFilter(ARTICLE_FILTER, input, argumentName);
}

/**
 * The database work a filter asks for, in WORK_COSTS units: the same reading as readFilter,
 * run on the argument as it stands before execution (global IDs still encoded; they cost the
 * same). A filter its limits refuse costs what was read before the refusal; its field reports
 * the refusal when it runs.
 */
export function filterCost(definition: FilterDefinition, input: unknown): number {
  const limiter = new FilterLimiter('filter');
  if (input == null || typeof input !== 'object') return 0;
  try {
    readAt(definition, input, 0, limiter);
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
  }
  return limiter.work;
}
