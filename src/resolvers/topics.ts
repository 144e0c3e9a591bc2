import type { Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { topicWhere, type TopicFilterInput } from './filters.ts';
import {
  DEFAULT_NAMED_ORDER,
  NAMED_COLUMNS,
  sortTerms,
  withoutRelevance,
  type NamedOrderField,
  type OrderInput,
} from './ordering.ts';
import { searchByName } from './search.ts';
import { topicSql } from './sqlFilters.ts';
import { pageWindow, paginate, selectWithKeys, type ConnectionArgs } from './pagination.ts';

export interface TopicListArgs extends ConnectionArgs {
  filter?: (TopicFilterInput & { nameSearch?: string | null }) | null;
  orderBy?: readonly OrderInput<NamedOrderField>[] | null;
}

type TopicSelection = { select?: Prisma.TopicSelect; include?: Prisma.TopicInclude };

/**
 * One page of topics, with what the GraphQL query selected (planned by plugin-prisma). With a
 * `nameSearch`, names are matched by similarity in SQL and the page's rows loaded by id.
 */
export function listTopics(
  db: Db,
  args: TopicListArgs,
  selection: TopicSelection = {},
  options = { countWanted: true },
) {
  if (args.filter?.nameSearch != null) {
    return searchByName(
      db,
      'Topic',
      args.filter.nameSearch,
      topicSql('n', args.filter),
      args,
      (ids) =>
        db.topic.findMany({
          ...selectWithKeys(selection, []),
          where: { id: { in: ids } },
        } as Prisma.TopicFindManyArgs) as Promise<{ id: number }[]>,
      options,
    );
  }
  const terms = withoutRelevance(sortTerms(args.orderBy, NAMED_COLUMNS, DEFAULT_NAMED_ORDER), 'a "filter.nameSearch"');
  const where: Prisma.TopicWhereInput = args.filter ? topicWhere(args.filter) : {};
  return paginate(
    terms,
    pageWindow(terms, args),
    where,
    (page) => {
      const query: Prisma.TopicFindManyArgs = {
        ...selectWithKeys(selection, terms),
        where: page.where as Prisma.TopicWhereInput,
        orderBy: page.orderBy as Prisma.TopicOrderByWithRelationInput[],
        take: page.take,
      };
      return db.topic.findMany(query) as Promise<{ id: number }[]>;
    },
    (filter, cap) => db.topic.count({ where: filter, take: cap != null ? cap + 1 : undefined }),
  );
}
