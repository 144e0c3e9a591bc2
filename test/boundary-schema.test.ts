import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { yoga } from './support/api.ts';
import { globalId } from './support/demo.ts';
import { callers, snapshot, type Caller } from './support/keys.ts';
import { serverUrl } from './support/targets.ts';

/**
 * The input boundary, proven schema-wide. The test reads the schema by introspection, finds
 * every argument of every field reachable from Query and Mutation (nested ones such as
 * `Author.articles(filter:)` and `ArticleEdge.highlight(startMarker:)` included), every input
 * field inside them, and sends each scalar leaf each value of a hostile set, one request per
 * (field, leaf, value), the other arguments holding ordinary values, and each argument an
 * explicit null. Every answer must be
 * below HTTP 500 and free of INTERNAL_SERVER_ERROR (and of errors without a code), and a
 * mutation that did not succeed must have written nothing. A field added later is covered
 * without editing this file.
 */

const HOSTILE_TEXT = [
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  'x'.repeat(10_000),
  '🚀'.repeat(300),
  '\u200b\u200b\u200b',
  '\u200f\u200e\u200f',
  '',
  'Cafe\u0301',
];
const HOSTILE: Record<string, unknown[]> = {
  String: HOSTILE_TEXT,
  ID: [
    ...HOSTILE_TEXT,
    globalId('ApiKey', 1),
    globalId('Foo', 1),
    globalId('Article', 2 ** 31),
    globalId('Article', 99),
    Buffer.from('Article:1\u0000').toString('base64'),
  ],
  Int: [2 ** 31, -(2 ** 31) - 1, 2 ** 31 - 1, -(2 ** 31), 32768, -32769, 0, -1, 1e308],
  Float: [1e308, -1e308, 0.5, 2 ** 53 + 1],
  DateTime: [
    '2026-02-30',
    '2026-02-30T12:00:00Z',
    '0000-01-01',
    '10000-01-01',
    '-000001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '0001-01-01T00:00:00Z',
    '2026-05-01T00:00:00.0005Z',
    '2026-01-01T24:00:00Z',
    'yesterday',
  ],
};
/**
 * Stands for an explicit `null` for a whole argument, sent through a variable of its nullable type:
 * validation lets that through where the argument has a default (`count(cap: Int! = 1000)`), and
 * graphql-js refuses it only as the field runs.
 */
const NULL_ARGUMENT = Symbol('null argument');
/** Input types that contain themselves get nested values this deep (and just past the filter limit). */
const DEEP = [2_000, 6];

let schema: GraphQLSchema;
let as: Record<Caller, Record<string, string>>;
let serial = 0;

beforeAll(async () => {
  as = await callers();
  const response = await yoga.fetch('http://newsgraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: getIntrospectionQuery() }),
  });
  schema = buildClientSchema(((await response.json()) as { data: IntrospectionQuery }).data);
});

/** The node type an ID argument probably names, from the names around it, for an ordinary value. */
function idTypeFor(context: string): string {
  for (const name of ['Author', 'Topic', 'Article']) if (context.includes(name)) return name;
  return 'Article';
}

/** An ordinary value of `type`, named `name` inside `context` (the field or input type). */
function ordinary(type: GraphQLInputType, name: string, context: string): unknown {
  const named = getNamedType(type);
  let value: unknown;
  if (isInputObjectType(named)) value = ordinaryObject(named.getFields(), named.name);
  else if (isEnumType(named)) value = named.getValues()[0]!.value;
  else if (named.name === 'Int')
    value = { priority: 3, first: 5, last: 5, cap: 10, maxWords: 10, expectedVersion: 1 }[name] ?? 1;
  else if (named.name === 'Float') value = 1.5;
  else if (named.name === 'Boolean') value = false;
  else if (named.name === 'DateTime') value = '2026-01-01T00:00:00Z';
  else if (named.name === 'ID') value = globalId(idTypeFor(`${context} ${name}`), 1);
  else if (name === 'url') value = `https://boundary-schema.example/${++serial}`;
  else if (name === 'slug') value = `schema-slug-${++serial}`;
  else if (name === 'name') value = `Schema Name ${++serial}`;
  else if (name === 'search' || name === 'nameSearch') value = 'chips';
  else value = `ordinary ${++serial}`;
  return isListType(getNullableType(type)) ? [value] : value;
}

/** The required fields of an input object, each with an ordinary value. */
function ordinaryObject(fields: Record<string, GraphQLInputField>, context: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of Object.values(fields)) {
    if (isNonNullType(field.type)) out[field.name] = ordinary(field.type, field.name, context);
  }
  return out;
}

/** A place to put a hostile value: the path inside one argument, and the leaf's type there. */
interface Slot {
  argument: GraphQLArgument;
  path: (string | number)[];
  type: GraphQLInputType;
}

/** Every scalar leaf under an argument (input objects followed twice at most per type), and self-nesting spots. */
function slots(argument: GraphQLArgument): { leaves: Slot[]; nests: Slot[] } {
  const leaves: Slot[] = [];
  const nests: Slot[] = [];
  const walk = (type: GraphQLInputType, path: (string | number)[], seen: string[]) => {
    const nullable = getNullableType(type) as GraphQLInputType;
    const isList = isListType(nullable);
    const named = getNamedType(type);
    const at = isList ? [...path, 0] : path;
    if (isInputObjectType(named)) {
      if (seen.includes(named.name)) {
        nests.push({ argument, path, type });
        return;
      }
      for (const field of Object.values(named.getFields()))
        walk(field.type, [...at, field.name], [...seen, named.name]);
    } else if (isScalarType(named)) {
      leaves.push({ argument, path: at, type: named });
    }
  };
  walk(argument.type, [], []);
  return { leaves, nests };
}

/** Sets `value` at `path` inside `root`, building ordinary objects and lists on the way. */
function place(root: unknown, path: (string | number)[], value: unknown, type: GraphQLInputType): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const nullable = getNullableType(type) as GraphQLInputType;
  if (typeof head === 'number') {
    const itemType = isListType(nullable) ? (nullable.ofType as GraphQLInputType) : nullable;
    const list = Array.isArray(root) ? [...root] : [];
    list[head] = place(list[head] ?? ordinary(itemType, '', ''), rest, value, itemType);
    return list;
  }
  const named = getNamedType(type);
  if (!isInputObjectType(named)) return value;
  const fieldType = named.getFields()[head!]!.type;
  const object = { ...((root as Record<string, unknown>) ?? ordinaryObject(named.getFields(), named.name)) };
  const child = object[head!] ?? (rest.length ? ordinary(fieldType, head!, named.name) : undefined);
  object[head!] = place(child, rest, value, fieldType);
  return object;
}

/** A value nesting the input type at `slot` inside itself `depth` times (through its first self-field). */
function nested(slot: Slot, depth: number): unknown {
  const named = getNamedType(slot.type);
  if (!isInputObjectType(named)) return null;
  const selfField = Object.values(named.getFields()).find((field) => getNamedType(field.type) === named)!;
  const list = isListType(getNullableType(selfField.type));
  let value: unknown = {};
  for (let i = 0; i < depth; i++) value = { [selfField.name]: list ? [value] : value };
  return value;
}

/** A field with arguments and how to reach it from the root. */
interface Target {
  root: 'query' | 'mutation';
  /** Selections leading to the field: [field name, its ordinary arguments]. */
  via: [GraphQLField<unknown, unknown>, Record<string, unknown>][];
  field: GraphQLField<unknown, unknown>;
}

/** Every field with arguments reachable from the roots, by the shortest path (breadth first). */
function targets(): Target[] {
  const out: Target[] = [];
  const reached = new Set<string>();
  const roots: ['query' | 'mutation', GraphQLObjectType | null | undefined][] = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ];
  for (const [root, type] of roots) {
    if (!type) continue;
    const queue: [GraphQLObjectType, Target['via']][] = [[type, []]];
    while (queue.length) {
      const [parent, via] = queue.shift()!;
      for (const field of Object.values(parent.getFields())) {
        const key = `${parent.name}.${field.name}`;
        if (reached.has(key) || field.name.startsWith('__')) continue;
        reached.add(key);
        if (field.args.length) out.push({ root, via, field });
        const next = getNamedType(field.type) as GraphQLNamedType;
        // past the root, only queries lead further (mutation results are reached from Query too)
        if (isObjectType(next) && via.length < 4 && root === 'query') {
          const args = Object.fromEntries(
            field.args.filter((a) => isNonNullType(a.type)).map((a) => [a.name, ordinary(a.type, a.name, field.name)]),
          );
          queue.push([next, [...via, [field, args]]]);
        }
      }
    }
  }
  return out;
}

/** A GraphQL literal for an ordinary JSON value (input objects and lists). */
function literal(value: unknown, type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) {
    const item = getNullableType(type) as GraphQLInputType;
    return `[${value.map((v) => literal(v, isListType(item) ? (item.ofType as GraphQLInputType) : item)).join(', ')}]`;
  }
  if (isEnumType(named)) return String(value);
  if (isInputObjectType(named)) {
    const fields = named.getFields();
    return `{ ${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${literal(v, fields[k]!.type)}`)
      .join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** `__typename` for composite results, nothing for scalars. */
function selection(field: GraphQLField<unknown, unknown>): string {
  return isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
}

function argumentsText(
  field: GraphQLField<unknown, unknown>,
  values: Record<string, unknown>,
  variable?: string,
): string {
  const parts = field.args
    .filter((arg) => arg.name in values || arg.name === variable)
    .map((arg) => `${arg.name}: ${arg.name === variable ? '$v' : literal(values[arg.name], arg.type)}`);
  return parts.length ? `(${parts.join(', ')})` : '';
}

/** The operation sending `value` in `slot` of `target`, as variable $v of the argument's type. */
function operation(target: Target, slot: Slot, value: unknown): { query: string; variables: object } {
  const args = Object.fromEntries(
    target.field.args
      .filter((a) => isNonNullType(a.type))
      .map((a) => [a.name, ordinary(a.type, a.name, target.field.name)]),
  );
  const asNull = value === NULL_ARGUMENT;
  const argumentValue = asNull ? null : place(args[slot.argument.name], slot.path, value, slot.argument.type);
  let body = `${target.field.name}${argumentsText(target.field, args, slot.argument.name)} ${selection(target.field)}`;
  for (const [field, fieldArgs] of [...target.via].reverse())
    body = `${field.name}${argumentsText(field, fieldArgs)} { ${body} }`;
  return {
    query: `${target.root}($v: ${(asNull ? getNullableType(slot.argument.type) : slot.argument.type).toString()}) { ${body} }`,
    variables: { v: argumentValue },
  };
}

describe(`the input boundary, schema-wide (${serverUrl ? 'PostgreSQL server' : 'PGlite'})`, () => {
  it('never answers 5xx or INTERNAL_SERVER_ERROR, and a refused mutation writes nothing', async () => {
    const failures: string[] = [];
    let sent = 0;
    const found = targets();
    // every root field with arguments is reached, and nested ones too
    expect(found.filter((t) => t.via.length === 0).length).toBeGreaterThan(20);
    expect(found.some((t) => t.field.name === 'highlight')).toBe(true);
    for (const target of found) {
      for (const argument of target.field.args) {
        const { leaves, nests } = slots(argument);
        const cases: [Slot, unknown][] = [
          ...leaves.flatMap((slot) =>
            (HOSTILE[getNamedType(slot.type).name] ?? []).map((v) => [slot, v] as [Slot, unknown]),
          ),
          ...nests.flatMap((slot) => DEEP.map((depth) => [slot, nested(slot, depth)] as [Slot, unknown])),
          [{ argument, path: [], type: argument.type }, NULL_ARGUMENT],
        ];
        for (const [slot, value] of cases) {
          const { query, variables } = operation(target, slot, value);
          const before = target.root === 'mutation' ? await snapshot() : undefined;
          const response = await yoga.fetch('http://newsgraph.test/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...as.admin },
            body: JSON.stringify({ query, variables }),
          });
          sent += 1;
          const text = await response.text();
          const answer = JSON.parse(text) as {
            data?: Record<string, { __typename?: string } | null> | null;
            errors?: { extensions?: { code?: string } }[];
          };
          const shown = value === NULL_ARGUMENT ? 'null' : JSON.stringify(value)?.slice(0, 60);
          const where = `${target.root} ${target.field.name}(${slot.argument.name}.${slot.path.join('.')} = ${shown})`;
          if (response.status >= 500) failures.push(`${where}: HTTP ${response.status} ${text.slice(0, 200)}`);
          for (const error of answer.errors ?? []) {
            const code = error.extensions?.code;
            if (!code || code === 'INTERNAL_SERVER_ERROR') failures.push(`${where}: ${text.slice(0, 300)}`);
          }
          if (before) {
            const result = answer.data?.[target.field.name];
            const succeeded = !answer.errors?.length && (result?.__typename?.endsWith('Success') ?? result != null);
            if (!succeeded) {
              const after = await snapshot();
              if (JSON.stringify(after) !== JSON.stringify(before)) failures.push(`${where}: refused but wrote`);
            }
          }
        }
      }
    }
    console.info(`schema-wide boundary: ${sent} (field, value) requests over ${found.length} fields with arguments`);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(1_000);
  }, 600_000);
});
