import type { ObjectRef } from '@pothos/core';
import { builder } from './builder.ts';
import { cappedCountField, totalCountField } from './common.ts';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/**
 * What authors and topics have alike in the schema (the catalog): the ID filter input, the
 * connection type of their list, and the inputs of their delete and merge mutations. `ref` is the node type (Author or
 * Topic), `name` its GraphQL name and `plural` the list's name in descriptions.
 */
export function catalogTypes<Shape extends { id: number }>(
  ref: ObjectRef<Types, Shape>,
  name: 'Author' | 'Topic',
  plural: string,
) {
  const IDFilter = builder.inputType(`${name}IDFilter`, {
    description: `${name} global IDs; an ID of another type is refused.`,
    fields: (t) => ({ equals: t.globalID({ for: ref }), in: t.globalIDList({ for: ref }) }),
  });
  const Connection = builder.connectionObject({
    type: ref,
    name: `${name}Connection`,
    fields: (t) => ({
      totalCount: totalCountField(t, 'Matches across all pages (exact).'),
      count: cappedCountField(t),
    }),
  });
  const DeleteInput = builder.inputType(`Delete${name}Input`, {
    fields: (t) => ({ id: t.globalID({ for: ref, required: true }) }),
  });
  const MergeInput = builder.inputType(`Merge${name}sInput`, {
    fields: (t) => ({
      sourceIds: t.globalIDList({ for: ref, required: true, description: `${plural} to merge away (1-50).` }),
      targetId: t.globalID({ for: ref, required: true, description: `The ${name.toLowerCase()} that remains.` }),
    }),
  });
  return { IDFilter, Connection, DeleteInput, MergeInput };
}
