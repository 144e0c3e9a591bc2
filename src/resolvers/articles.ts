import type { Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { articleWhere, type ArticleFilterInput } from './filters.ts';
import { sortTerms, type OrderInput } from './ordering.ts';
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

export type ArticleOrderField = 'PUBLISHED_AT' | 'CREATED_AT' | 'PRIORITY' | 'TITLE';

export interface ArticleListArgs extends ConnectionArgs {
  filter?: ArticleFilterInput | null;
  orderBy?: readonly OrderInput<ArticleOrderField>[] | null;
}

const ARTICLE_COLUMNS = {
  PUBLISHED_AT: { column: 'publishedAt', kind: 'date' },
  CREATED_AT: { column: 'createdAt', kind: 'date' },
  PRIORITY: { column: 'priority', kind: 'int' },
  TITLE: { column: 'title', kind: 'string' },
} as const;

/** Newest first; ties broken by id (descending) so cursors are stable. */
const DEFAULT_ARTICLE_ORDER = [{ field: 'PUBLISHED_AT', direction: 'DESC' }] as const;

/** Everything about one list request that does not depend on the rows. */
export interface ArticlePagePlan {
  terms: SortTerm[];
  window: PageWindow;
  where: Prisma.ArticleWhereInput;
}

export function planArticlePage(args: ArticleListArgs): ArticlePagePlan {
  const terms = sortTerms(args.orderBy, ARTICLE_COLUMNS, DEFAULT_ARTICLE_ORDER);
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
    (filter) => db.article.count({ where: filter }),
  );
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
