import type { Db } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { pageWindow, type Connection, type ConnectionArgs } from '../lists/connection.ts';
import {
  AUTHOR_LIST_FILTER,
  TOPIC_LIST_FILTER,
  readFilter,
  type AuthorListFilterInput,
  type FilterDefinition,
  type TopicListFilterInput,
} from '../lists/filter.ts';
import {
  DEFAULT_NAMED_ORDER,
  NAMED_COLUMNS,
  rankedBy,
  sortTerms,
  withoutRelevance,
  type NamedOrderField,
  type OrderInput,
} from '../lists/order.ts';
import { prismaPage, selectWithKeys, type PrismaPageQuery } from '../lists/page.ts';
import type { Where } from '../lists/prismaWhere.ts';
import { rankedPage } from '../lists/ranked.ts';

/**
 * Lists of the catalog: authors and topics, which list alike (one implementation). A list is
 * filtered and ordered by name, article count or creation; with a `nameSearch` it is ranked by
 * name similarity (pg_trgm) instead.
 */

/** Which catalog: authors or topics. */
export type CatalogKind = 'author' | 'topic';

/** The filter of a catalog list: the kind's filter plus a similarity search on the name. */
export type CatalogListFilter<K extends CatalogKind> = K extends 'author'
  ? AuthorListFilterInput
  : TopicListFilterInput;

/** The arguments of a catalog list. */
export interface CatalogListArgs<K extends CatalogKind> extends ConnectionArgs {
  filter?: CatalogListFilter<K> | null;
  orderBy?: readonly OrderInput<NamedOrderField>[] | null;
}

/** A Prisma selection of the kind's rows, as plugin-prisma plans it from the GraphQL query. */
export type CatalogSelection = { select?: object; include?: object };

/** What the two kinds' Prisma delegates have in common, as the lists use it. */
interface CatalogRows {
  findMany(args: CatalogSelection & Partial<PrismaPageQuery>): Promise<{ id: number }[]>;
  count(args: { where: Where; take?: number }): Promise<number>;
}

const KINDS = {
  author: { table: 'Author', rows: (db: Db): CatalogRows => db.author, filter: AUTHOR_LIST_FILTER },
  topic: { table: 'Topic', rows: (db: Db): CatalogRows => db.topic, filter: TOPIC_LIST_FILTER },
} satisfies Record<CatalogKind, { table: string; rows: (db: Db) => CatalogRows; filter: FilterDefinition }>;

/**
 * Names that resemble `text`, misspelt or partial: pg_trgm's word similarity (the `<%` operator,
 * served by the trigram index on name) above its default threshold of 0.6
 * (https://www.postgresql.org/docs/current/pgtrgm.html). Ranked by word similarity plus
 * whole-name similarity, so "ghafary" puts "Shirin Ghaffary" first.
 */
function nameSearch(table: string, text: string) {
  const name = Prisma.raw(`n."name"`);
  return {
    from: Prisma.raw(`"${table}" n`),
    matches: Prisma.sql`${text} <% ${name}`,
    rank: Prisma.sql`(word_similarity(${text}, ${name}) + similarity(${text}, ${name}))::float8`,
  };
}

/**
 * One page of authors or topics, with what the GraphQL query selected (planned by
 * plugin-prisma). With a `nameSearch`, names are matched by similarity in SQL (most similar
 * first by default) and the page's rows loaded by id. Errors: BAD_USER_INPUT (filter, a
 * RELEVANCE order without nameSearch), INVALID_PAGE_SIZE, INVALID_CURSOR.
 */
export function listCatalog<K extends CatalogKind, Row extends { id: number }>(
  db: Db,
  kind: K,
  args: CatalogListArgs<K>,
  selection: CatalogSelection = {},
  options = { countWanted: true },
): Promise<Connection<Row>> {
  const { table, rows, filter } = KINDS[kind];
  // checked in the order of the other lists: the order, the page, then the filter
  const filterOf = () => readFilter(filter, args.filter);
  if (args.filter?.nameSearch != null) {
    const terms = rankedBy(
      sortTerms(args.orderBy, NAMED_COLUMNS, [{ field: 'RELEVANCE', direction: 'DESC' }]),
      table,
      args.filter.nameSearch,
    );
    const window = pageWindow(terms, args);
    // the filter's reading checks nameSearch too (blank, length, words)
    const filter = filterOf();
    const search = nameSearch(table, args.filter.nameSearch.trim());
    return rankedPage<Row>(db, {
      ...search,
      filter,
      alias: 'n',
      terms,
      window,
      countWanted: options.countWanted,
      load: (ids) => rows(db).findMany({ ...selectWithKeys(selection, []), where: { id: { in: ids } } }),
    });
  }
  const terms = withoutRelevance(sortTerms(args.orderBy, NAMED_COLUMNS, DEFAULT_NAMED_ORDER), 'a "filter.nameSearch"');
  const window = pageWindow(terms, args);
  return prismaPage(
    filterOf(),
    terms,
    window,
    (page) => rows(db).findMany({ ...selectWithKeys(selection, terms), ...page }) as Promise<Row[]>,
    (where, cap) => rows(db).count({ where, take: cap != null ? cap + 1 : undefined }),
  );
}
