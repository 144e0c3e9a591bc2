import type { Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { topicWhere, type TopicFilterInput } from './filters.ts';
import { DEFAULT_NAMED_ORDER, NAMED_COLUMNS, sortTerms, type NamedOrderField, type OrderInput } from './ordering.ts';
import { pageWindow, paginate, selectWithKeys, type ConnectionArgs } from './pagination.ts';

export interface TopicListArgs extends ConnectionArgs {
  filter?: TopicFilterInput | null;
  orderBy?: readonly OrderInput<NamedOrderField>[] | null;
}

type TopicSelection = { select?: Prisma.TopicSelect; include?: Prisma.TopicInclude };

/** One page of topics, with what the GraphQL query selected (planned by plugin-prisma). */
export function listTopics(db: Db, args: TopicListArgs, selection: TopicSelection = {}) {
  const terms = sortTerms(args.orderBy, NAMED_COLUMNS, DEFAULT_NAMED_ORDER);
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
    (filter) => db.topic.count({ where: filter }),
  );
}
