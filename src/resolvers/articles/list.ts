import type { Db } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { representative } from '../stories/collapse.ts';
import type { Condition } from '../lists/condition.ts';
import { pageWindow, type ConnectionArgs, type PageWindow, type SortTerm } from '../lists/connection.ts';
import { articleCondition, type ArticleFilterInput } from '../lists/filter.ts';
import { rankedBy, relevanceOrder, sortTerms, withoutRelevance, type OrderInput } from '../lists/order.ts';
import { prismaPage, prismaPageQuery, selectWithKeys } from '../lists/page.ts';
import type { Where } from '../lists/prismaWhere.ts';
import { toPrismaWhere } from '../lists/prismaWhere.ts';
import { rankedPage } from '../lists/ranked.ts';
import { rollupCount, rollupPlan, topicLinkCount, topicLinkPlan } from './rollup.ts';
import { plannedSearch } from './search.ts';

/**
 * Lists of articles: `articles` (filtered, ordered, optionally searched), and the article pages
 * of an author or topic. Every list is one filter Condition, sort terms and a page window run
 * by the list engine (../lists/).
 */

/**
 * The orders of an article list: the ArticleOrderField enum is made from this table
 * (schema/lists.ts `orderInput`), so adding an order is one entry here.
 */
export const ARTICLE_ORDERS = {
  PUBLISHED_AT: { column: 'publishedAt', kind: 'date' },
  CREATED_AT: { column: 'createdAt', kind: 'date' },
  PRIORITY: { column: 'priority', kind: 'smallint' },
  TITLE: { column: 'title', kind: 'string' },
  RELEVANCE: relevanceOrder('Search rank (title matches weigh most, body matches least). Only with a `search`.'),
} as const;

/** The orders of an article list (ArticleOrderField). */
export type ArticleOrderField = keyof typeof ARTICLE_ORDERS;

/** The arguments of an article list. */
export interface ArticleListArgs extends ConnectionArgs {
  filter?: ArticleFilterInput | null;
  orderBy?: readonly OrderInput<ArticleOrderField>[] | null;
  /** Web-search text (Query.articles only). */
  search?: string | null;
  /** STORY: one article per story (stories/collapse.ts). */
  collapse?: 'STORY' | null;
}

/** Newest first; ties broken by id (descending) so cursors are stable. */
const DEFAULT_ARTICLE_ORDER = [{ field: 'PUBLISHED_AT', direction: 'DESC' }] as const;
/** With a search: most relevant first; ties by id (descending). */
const DEFAULT_SEARCH_ORDER = [{ field: 'RELEVANCE', direction: 'DESC' }] as const;

/** Everything about one list request that does not depend on the rows. */
export interface ArticlePagePlan {
  terms: SortTerm[];
  window: PageWindow;
  condition: Condition;
  /** The filter as a Prisma where-clause on Article (for counts). */
  where: Prisma.ArticleWhereInput;
}

/** Checks an article list's arguments (BAD_USER_INPUT, INVALID_PAGE_SIZE, INVALID_CURSOR). */
export function planArticlePage(args: ArticleListArgs): ArticlePagePlan {
  const terms = withoutRelevance(sortTerms(args.orderBy, ARTICLE_ORDERS, DEFAULT_ARTICLE_ORDER), 'a "search"');
  // the page is checked before the filter, so the first error named is the same on every path
  const window = pageWindow(terms, args);
  const condition = articleCondition(args.filter);
  return { terms, window, condition, where: toPrismaWhere(condition) };
}

/** A Prisma selection of Article rows, as plugin-prisma plans it from the GraphQL query. */
export type ArticleSelection = { select?: Prisma.ArticleSelect; include?: Prisma.ArticleInclude };

/**
 * One page of articles. `selection` is what the GraphQL query asked for (planned by
 * plugin-prisma), so authors and topics arrive in the same statement; the total is counted
 * only when asked for: from the count rollup or one topic's links when the filter allows
 * (rollup.ts), else by counting the matching articles.
 */
export function listArticles(db: Db, args: ArticleListArgs, selection: ArticleSelection = {}) {
  const { terms, window, condition } = planArticlePage(args);
  if (args.collapse === 'STORY') {
    // one row per story: SQL finds the representatives' page, Prisma loads it (as a search does)
    return rankedPage(db, {
      from: Prisma.sql`"Article" a`,
      matches: Prisma.sql`TRUE`,
      alias: 'a',
      rank: Prisma.sql`0::float8`,
      terms,
      window,
      filter: condition,
      collapse: {
        group: Prisma.sql`a."storyId"`,
        keep: (row) => representative({ terms, filter: condition }, row),
      },
      countWanted: false,
      load: (ids) => db.article.findMany({ ...selectWithKeys(selection, []), where: { id: { in: ids } } }),
    });
  }
  const rollup = rollupPlan(condition);
  const links = rollup ? null : topicLinkPlan(condition);
  return prismaPage(
    condition,
    terms,
    window,
    (page) => db.article.findMany({ ...selectWithKeys(selection, terms), ...page } as Prisma.ArticleFindManyArgs),
    (where, cap) =>
      rollup
        ? rollupCount(db, rollup)
        : links
          ? topicLinkCount(db, links, cap)
          : db.article.count({ where, take: cap != null ? cap + 1 : undefined }),
  );
}

/**
 * One page of articles matching a full-text search and the filter: SQL finds the page's ids,
 * then Prisma loads those rows with the planned selection. Ordered by relevance, the ids come
 * from the title matches (search.ts) and, when they run short of a page, from the other head
 * matches, then from the body matches (a statement each); in any other order, with the total
 * when wanted in passing. Two to four statements, and one before them for a text with a `-`
 * (plannedSearch).
 */
export async function searchArticles(
  db: Db,
  args: ArticleListArgs & { search: string },
  selection: ArticleSelection = {},
  options: { countWanted: boolean } = { countWanted: true },
) {
  const terms = rankedBy(sortTerms(args.orderBy, ARTICLE_ORDERS, DEFAULT_SEARCH_ORDER), 'Article', args.search);
  const window = pageWindow(terms, args);
  const filter = articleCondition(args.filter);
  const search = await plannedSearch(db, args.search, 'search');
  return rankedPage(db, {
    from: search.from,
    matches: search.where,
    alias: 'a',
    rank: search.rank,
    tiers: search.tiers,
    terms,
    window,
    filter,
    collapse:
      args.collapse === 'STORY'
        ? {
            group: Prisma.sql`a."storyId"`,
            keep: (row) =>
              representative(
                { terms, filter, matches: search.matchesOf, rank: search.rankOf, joins: search.queryJoin },
                row,
              ),
          }
        : undefined,
    countWanted: options.countWanted,
    load: (ids) => db.article.findMany({ ...selectWithKeys(selection, []), where: { id: { in: ids } } }),
  });
}

/**
 * Where a link row (ArticleAuthor, ArticleTopic) holds an article's sort key itself: its copy of
 * `publishedAt` and its `articleId`. Ordering and paging by them walks the link table's
 * (parent, publishedAt DESC, articleId DESC) index instead of joining every linked article.
 */
const LINK_KEYS: Readonly<Record<string, string>> = { publishedAt: 'publishedAt', id: 'articleId' };

/** A one-column condition or order on an article, as it applies to the article's link row. */
function onLink(where: Where): Where {
  const [entry] = Object.entries(where);
  const [column, value] = entry!;
  const own = Object.keys(where).length === 1 ? LINK_KEYS[column] : undefined;
  return own ? { [own]: value } : { article: where };
}

/**
 * The Prisma relation query that loads one page of a parent's articles through a join table:
 * the filter applies to the article, the order and cursor to the link's own copies where it has
 * them (LINK_KEYS).
 */
export function nestedArticlePage(plan: ArticlePagePlan, articleSelection: ArticleSelection) {
  const page = prismaPageQuery(plan.condition, plan.terms, plan.window, onLink, (where) => ({ article: where }));
  return { ...page, select: { article: selectWithKeys(articleSelection, plan.terms) } };
}

/** The article with this id or link key, with the planned selection; null when there is none. */
export function findArticle(db: Db, where: { id: number } | { urlKey: string }, selection: ArticleSelection = {}) {
  return db.article.findUnique({ ...selection, where } as Prisma.ArticleFindUniqueArgs);
}
