import type { Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { authorWhere, type AuthorFilterInput } from './filters.ts';
import { DEFAULT_NAMED_ORDER, NAMED_COLUMNS, sortTerms, type NamedOrderField, type OrderInput } from './ordering.ts';
import { pageWindow, paginate, selectWithKeys, type ConnectionArgs } from './pagination.ts';

export interface AuthorListArgs extends ConnectionArgs {
  filter?: AuthorFilterInput | null;
  orderBy?: readonly OrderInput<NamedOrderField>[] | null;
}

type AuthorSelection = { select?: Prisma.AuthorSelect; include?: Prisma.AuthorInclude };

/** One page of authors, with what the GraphQL query selected (planned by plugin-prisma). */
export function listAuthors(db: Db, args: AuthorListArgs, selection: AuthorSelection = {}) {
  const terms = sortTerms(args.orderBy, NAMED_COLUMNS, DEFAULT_NAMED_ORDER);
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
    (filter) => db.author.count({ where: filter }),
  );
}
