import { getNamedType, isEnumType, isInputObjectType, isListType, isNonNullType, type GraphQLInputType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { filterCost, FILTERS, type FilterField } from '../src/resolvers/lists/filter.ts';
import { ARTICLE_ORDERS } from '../src/resolvers/articles/list.ts';
import { NAMED_COLUMNS } from '../src/resolvers/lists/order.ts';
import { WORK_COSTS } from '../src/resolvers/lists/work.ts';
import { schema } from '../src/schema/index.ts';

/**
 * The list inputs are made from the list engine's tables (src/schema/lists.ts): each filter
 * field, each order, is declared once. These tests hold the schema to the tables, and the query
 * cost to the filter arguments it must price.
 */

/** A GraphQL input type written the way SDL writes it (`[ArticleFilter!]`). */
function typeName(type: GraphQLInputType): string {
  if (isNonNullType(type)) return `${typeName(type.ofType)}!`;
  if (isListType(type)) return `[${typeName(type.ofType)}]`;
  return type.name;
}

/** The GraphQL type a filter field of this kind has, in the filter named `self`. */
function expectedType(field: FilterField, self: string): string {
  switch (field.kind) {
    case 'int':
      return 'IntFilter';
    case 'instant':
      return 'DateTimeFilter';
    case 'string':
      return 'StringFilter';
    case 'boolean':
      return 'Boolean';
    case 'id':
      return `${field.node}IDFilter`;
    case 'substring':
    case 'similarity':
      return 'String';
    case 'related':
      return field.relationInput;
    case 'and':
    case 'or':
      return `[${self}!]`;
    case 'not':
      return self;
  }
}

describe('list inputs', () => {
  it('every filter definition is an input type with exactly its fields, typed by kind', () => {
    expect(Object.keys(FILTERS).sort()).toEqual([
      'ArticleFilter',
      'AuthorFilter',
      'AuthorListFilter',
      'TopicFilter',
      'TopicListFilter',
    ]);
    for (const definition of Object.values(FILTERS)) {
      const type = schema.getType(definition.name);
      if (!isInputObjectType(type)) throw new Error(`${definition.name} is not an input type`);
      const fields = type.getFields();
      expect(Object.keys(fields).sort(), definition.name).toEqual(Object.keys(definition.fields).sort());
      for (const [name, field] of Object.entries(definition.fields)) {
        expect(typeName(fields[name]!.type), `${definition.name}.${name}`).toBe(expectedType(field, definition.name));
        expect(fields[name]!.description ?? undefined, `${definition.name}.${name}`).toBe(field.description);
      }
      expect(type.description).toBe(definition.description);
    }
  });

  it('every filter argument in the schema is a defined filter, so the query cost prices it', () => {
    const unpriced: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !('getFields' in type) || isInputObjectType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        for (const arg of field.args) {
          const named = getNamedType(arg.type);
          if (/Filter$/.test(named.name) && !FILTERS[named.name])
            unpriced.push(`${type.name}.${field.name}(${arg.name})`);
        }
        if (
          field.args.some((arg) => arg.name === 'filter') &&
          !field.args.some((arg) => FILTERS[getNamedType(arg.type).name])
        )
          unpriced.push(`${type.name}.${field.name}`);
      }
    }
    expect(unpriced).toEqual([]);
  });

  it('the order enums hold exactly the order tables, with their descriptions', () => {
    for (const [enumName, table] of [
      ['ArticleOrderField', ARTICLE_ORDERS],
      ['NamedOrderField', NAMED_COLUMNS],
    ] as const) {
      const type = schema.getType(enumName);
      if (!isEnumType(type)) throw new Error(`${enumName} is not an enum`);
      const values = Object.fromEntries(type.getValues().map((value) => [value.name, value.description ?? undefined]));
      const expected = Object.fromEntries(
        Object.entries(table).map(([name, order]) => [name, 'description' in order ? order.description : undefined]),
      );
      expect(values).toEqual(expected);
    }
  });

  it('prices catalog filters with the same reading: nameSearch, names and ids', () => {
    expect(filterCost(FILTERS.AuthorListFilter!, { nameSearch: 'ghafary' })).toBe(WORK_COSTS.pattern);
    expect(filterCost(FILTERS.TopicListFilter!, { name: { contains: 'ai' }, slug: { equals: 'x' } })).toBe(
      WORK_COSTS.pattern + WORK_COSTS.condition,
    );
    // before execution, global IDs are still the encoded strings: priced all the same
    expect(filterCost(FILTERS.AuthorListFilter!, { id: { in: ['QXV0aG9yOjE=', 'QXV0aG9yOjI='] } })).toBe(
      WORK_COSTS.condition,
    );
    // a filter its limits refuse costs what was read before the refusal (its field reports it)
    const deep = { AND: [{ AND: [{ AND: [{ AND: [{ AND: [{ AND: [{ text: 'zebra' }] }] }] }] }] }] };
    expect(filterCost(FILTERS.ArticleFilter!, deep)).toBe(0);
  });
});
