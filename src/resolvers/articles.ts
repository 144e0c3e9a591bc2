import type { Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { articleWhere, type ArticleFilterInput } from './filters.ts';
import { RELEVANCE_COLUMN, sortTerms, withoutRelevance, type OrderInput } from './ordering.ts';
import { articleSearch, checkSearchText, searchPage } from './search.ts';
import { and, articleSql } from './sqlFilters.ts';
import {
  orderByFor,
  pageWindow,
  paginate,
  selectWithKeys,
  windowWhere,
  type ConnectionArgs,
  type PageWindow,
  type SortTerm,
} from './pagination.ts';

export type ArticleOrderField = 'PUBLISHED_AT' | 'CREATED_AT' | 'PRIORITY' | 'TITLE' | 'RELEVANCE';

export interface ArticleListArgs extends ConnectionArgs {
  filter?: ArticleFilterInput | null;
  orderBy?: readonly OrderInput<ArticleOrderField>[] | null;
  /** Web-search text (Query.articles only). */
  search?: string | null;
}

const ARTICLE_COLUMNS = {
  PUBLISHED_AT: { column: 'publishedAt', kind: 'date' },
  CREATED_AT: { column: 'createdAt', kind: 'date' },
  PRIORITY: { column: 'priority', kind: 'smallint' },
  TITLE: { column: 'title', kind: 'string' },
  RELEVANCE: { column: RELEVANCE_COLUMN, kind: 'float', defaultDirection: 'DESC' },
} as const;

/** Newest first; ties broken by id (descending) so cursors are stable. */
const DEFAULT_ARTICLE_ORDER = [{ field: 'PUBLISHED_AT', direction: 'DESC' }] as const;
/** With a search: most relevant first; ties by id (descending). */
const DEFAULT_SEARCH_ORDER = [{ field: 'RELEVANCE', direction: 'DESC' }] as const;

/** Everything about one list request that does not depend on the rows. */
export interface ArticlePagePlan {
  terms: SortTerm[];
  window: PageWindow;
  where: Prisma.ArticleWhereInput;
}

export function planArticlePage(args: ArticleListArgs): ArticlePagePlan {
  const terms = withoutRelevance(sortTerms(args.orderBy, ARTICLE_COLUMNS, DEFAULT_ARTICLE_ORDER), 'a "search"');
  return { terms, window: pageWindow(terms, args), where: articleWhere(args.filter) };
}

export type ArticleSelection = { select?: Prisma.ArticleSelect; include?: Prisma.ArticleInclude };

/**
 * One page of articles. `selection` is what the GraphQL query asked for (planned by
 * plugin-prisma), so authors and topics arrive in the same statement; the total is counted
 * only when asked for.
 */
export function listArticles(db: Db, args: ArticleListArgs, selection: ArticleSelection = {}) {
  const { terms, window, where } = planArticlePage(args);
  return paginate(
    terms,
    window,
    where,
    (page) => {
      const query: Prisma.ArticleFindManyArgs = {
        ...selectWithKeys(selection, terms),
        where: page.where as Prisma.ArticleWhereInput,
        orderBy: page.orderBy as Prisma.ArticleOrderByWithRelationInput[],
        take: page.take,
      };
      return db.article.findMany(query) as Promise<{ id: number }[]>;
    },
    (filter, cap) => db.article.count({ where: filter, take: cap != null ? cap + 1 : undefined }),
  );
}

/**
 * One page of articles matching a full-text search and the filter: SQL finds the page's ids
 * (and, when ordered by relevance and a total is wanted, counts the matches in passing), then
 * Prisma loads those rows with the planned selection. Two statements.
 */
export function searchArticles(
  db: Db,
  args: ArticleListArgs & { search: string },
  selection: ArticleSelection = {},
  options: { countWanted: boolean } = { countWanted: true },
) {
  const text = checkSearchText(args.search, 'search');
  const terms = sortTerms(args.orderBy, ARTICLE_COLUMNS, DEFAULT_SEARCH_ORDER);
  const window = pageWindow(terms, args);
  const search = articleSearch(text);
  return searchPage(db, {
    from: search.from,
    where: and([search.where, articleSql(args.filter)]),
    alias: 'a',
    rank: search.rank,
    terms,
    window,
    countWanted: options.countWanted,
    load: (ids) =>
      db.article.findMany({
        ...selectWithKeys(selection, []),
        where: { id: { in: ids } },
      } as Prisma.ArticleFindManyArgs) as Promise<{ id: number }[]>,
  });
}

/** The Prisma relation query that loads one page of a parent's articles through a join table. */
export function nestedArticlePage(plan: ArticlePagePlan, articleSelection: ArticleSelection) {
  const viaArticle = (condition: Record<string, unknown>) => ({ article: condition });
  return {
    where: { AND: [{ article: plan.where }, ...windowWhere(plan.terms, plan.window, viaArticle)] },
    orderBy: orderByFor(plan.terms, plan.window.backward, viaArticle),
    take: plan.window.take,
    select: { article: selectWithKeys(articleSelection, plan.terms) },
  };
}

export function findArticle(db: Db, where: { id: number } | { urlKey: string }, selection: ArticleSelection = {}) {
  return db.article.findUnique({ ...selection, where } as Prisma.ArticleFindUniqueArgs);
}
