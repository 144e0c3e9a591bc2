import type { Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { authorWhere, type AuthorFilterInput } from './filters.ts';
import {
  DEFAULT_NAMED_ORDER,
  NAMED_COLUMNS,
  sortTerms,
  withoutRelevance,
  type NamedOrderField,
  type OrderInput,
} from './ordering.ts';
import { searchByName } from './search.ts';
import { authorSql } from './sqlFilters.ts';
import { pageWindow, paginate, selectWithKeys, type ConnectionArgs } from './pagination.ts';

export interface AuthorListArgs extends ConnectionArgs {
  filter?: (AuthorFilterInput & { nameSearch?: string | null }) | null;
  orderBy?: readonly OrderInput<NamedOrderField>[] | null;
}

type AuthorSelection = { select?: Prisma.AuthorSelect; include?: Prisma.AuthorInclude };

/**
 * One page of authors, with what the GraphQL query selected (planned by plugin-prisma). With a
 * `nameSearch`, names are matched by similarity in SQL and the page's rows loaded by id.
 */
export function listAuthors(
  db: Db,
  args: AuthorListArgs,
  selection: AuthorSelection = {},
  options = { countWanted: true },
) {
  if (args.filter?.nameSearch != null) {
    return searchByName(
      db,
      'Author',
      args.filter.nameSearch,
      authorSql('n', args.filter),
      args,
      (ids) =>
        db.author.findMany({
          ...selectWithKeys(selection, []),
          where: { id: { in: ids } },
        } as Prisma.AuthorFindManyArgs) as Promise<{ id: number }[]>,
      options,
    );
  }
  const terms = withoutRelevance(sortTerms(args.orderBy, NAMED_COLUMNS, DEFAULT_NAMED_ORDER), 'a "filter.nameSearch"');
  const where: Prisma.AuthorWhereInput = args.filter ? authorWhere(args.filter) : {};
  return paginate(
    terms,
    pageWindow(terms, args),
    where,
    (page) => {
      const query: Prisma.AuthorFindManyArgs = {
        ...selectWithKeys(selection, terms),
        where: page.where as Prisma.AuthorWhereInput,
        orderBy: page.orderBy as Prisma.AuthorOrderByWithRelationInput[],
        take: page.take,
      };
      return db.author.findMany(query) as Promise<{ id: number }[]>;
    },
    (filter, cap) => db.author.count({ where: filter, take: cap != null ? cap + 1 : undefined }),
  );
}
