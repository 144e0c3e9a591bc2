import { builder } from './builder.ts';

/** Filter and ordering inputs shared by every domain module. */

export const OrderDirection = builder.enumType('OrderDirection', {
  values: {
    ASC: { description: 'Smallest, earliest or A first' },
    DESC: { description: 'Largest, latest or Z first' },
  } as const,
});

export const StringFilter = builder.inputType('StringFilter', {
  description: 'Case-insensitive text conditions; `%` and `_` match only themselves. All given conditions must hold.',
  fields: (t) => ({
    equals: t.string(),
    in: t.stringList(),
    contains: t.string(),
    startsWith: t.string(),
  }),
});

export const IntFilter = builder.inputType('IntFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    equals: t.int(),
    in: t.intList(),
    gt: t.int(),
    gte: t.int(),
    lt: t.int(),
    lte: t.int(),
  }),
});

export const DateTimeFilter = builder.inputType('DateTimeFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    gt: t.field({ type: 'DateTime' }),
    gte: t.field({ type: 'DateTime' }),
    lt: t.field({ type: 'DateTime' }),
    lte: t.field({ type: 'DateTime' }),
  }),
});
