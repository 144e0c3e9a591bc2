import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isListType,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  isObjectType,
  isInterfaceType,
  type GraphQLOutputType,
  type GraphQLNamedType,
  getArgumentValues,
  Lexer,
  Source,
  TokenKind,
  getIntrospectionQuery,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  parse,
} from 'graphql';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './resolvers/lists/connection.ts';
import { coercedVariables } from './input/boundary.ts';
import { FILTERS, filterCost } from './resolvers/lists/filter.ts';
import { WORK_COSTS } from './resolvers/lists/work.ts';
import { MAX_LINKS_PER_ARTICLE } from './resolvers/writing/references.ts';
import { ATTEMPTS_SHOWN, MAX_DELIVERIES_PAGE, MAX_WEBHOOKS_PER_SEARCH } from './resolvers/alerts/webhooks.ts';

/**
 * Limits on what one request may ask for, checked before anything executes (no SQL runs for a
 * refused query): tokens while parsing; depth, aliases and directives while validating; cost
 * (list fields multiply by their page size) with the variables, just before execution.
 */

/**
 * The limits (settings MAX_TOKENS, MAX_DEPTH, MAX_ALIASES, MAX_DIRECTIVES, MAX_COST): lexical tokens
 * per document; field nesting depth, aliases and directives per operation; cost (operationCost).
 */
export interface QueryLimits {
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
}

/**
 * The `extensions.code` of each refusal (HTTP 400); `extensions.limit` is the limit exceeded, and
 * QUERY_TOO_COSTLY also gives `cost`.
 */
export const LimitCode = {
  TOO_MANY_TOKENS: 'TOO_MANY_TOKENS',
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  TOO_MANY_DIRECTIVES: 'TOO_MANY_DIRECTIVES',
  QUERY_TOO_COSTLY: 'QUERY_TOO_COSTLY',
} as const;

/**
 * A refusal of the whole request: no data, so HTTP 400 whatever the Accept header (the
 * GraphQL-over-HTTP spec's "request error"; Yoga reads `extensions.http` and drops it from the body).
 * `spec: false`: Yoga answers spec-defined validation errors 200 under `application/json`, and
 * would take these for them when they come from a validation rule.
 */
function limitError(
  code: string,
  message: string,
  extensions: { limit: number; cost?: number; costIsExact?: boolean },
  nodes?: readonly FieldNode[] | FieldNode,
): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { code, ...extensions, http: { status: 400, spec: false } } });
}

/** What the shape limits count in a selection set, with its fragments expanded where they are spread. */
interface Shape {
  /** Levels of fields (a leaf field is 1; introspection fields are not counted). */
  depth: number;
  /** The field at that depth, for the error's location. */
  deepest?: FieldNode;
  aliases: number;
  /** Aliases inside introspection (under `__schema` or `__type`). */
  introspectionAliases: number;
  /** Directives on fields, inline fragments and fragment spreads. */
  directives: number;
}

const NO_SHAPE: Shape = { depth: 0, aliases: 0, introspectionAliases: 0, directives: 0 };

/** Counts past this are "too many" whatever the limit (fragment fan-out multiplies them). */
const SATURATED = Number.MAX_SAFE_INTEGER;
const add = (a: number, b: number) => Math.min(a + b, SATURATED);

/**
 * The shape of a selection set as if every fragment spread were written out in place (what the
 * executor would walk), computed with each fragment's shape once: a fragment spread twice by
 * each of 40 chained fragments (2^40 paths in 2 KB) costs 40 steps, not 2^40. A fragment
 * spread inside itself counts nothing there (NoFragmentCyclesRule refuses the document).
 */
function shapeOf(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  memo: Map<string, Shape | 'entered'> = new Map(),
): Shape {
  let depth = 0;
  let deepest: FieldNode | undefined;
  let aliases = 0;
  let introspectionAliases = 0;
  let directives = 0;
  const merge = (inner: Shape, levels: number, field?: FieldNode) => {
    if (inner.depth + levels > depth) {
      depth = inner.depth + levels;
      deepest = inner.deepest ?? field;
    }
    aliases = add(aliases, inner.aliases);
    introspectionAliases = add(introspectionAliases, inner.introspectionAliases);
    directives = add(directives, inner.directives);
  };
  for (const selection of selectionSet.selections) {
    directives = add(directives, selection.directives?.length ?? 0);
    if (selection.kind === Kind.FIELD) {
      if (selection.alias) aliases = add(aliases, 1);
      const inner = selection.selectionSet ? shapeOf(selection.selectionSet, fragments, memo) : NO_SHAPE;
      // introspection (`__schema`, `__type`) answers from the schema: its depth is graphql-js's
      // MaxIntrospectionDepthRule's to bound (a type reference nests ofType 8 deep); without
      // aliases the executor merges every repeat of a field, so it reads the schema at most once,
      // and aliases inside it are what multiplied its answer (8 at each of 4 levels through
      // fragments: 45 MB, seconds of the process), so none is allowed there
      if (selection.name.value.startsWith('__')) {
        merge(
          {
            depth: 0,
            aliases: 0,
            introspectionAliases: add(inner.aliases, inner.introspectionAliases),
            directives: inner.directives,
          },
          0,
        );
      } else merge(inner, 1, selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      merge(shapeOf(selection.selectionSet, fragments, memo), 0);
    } else {
      const name = selection.name.value;
      const known = memo.get(name);
      if (known === 'entered') continue;
      let shape = known;
      if (!shape) {
        const fragment = fragments.get(name);
        if (!fragment) continue;
        memo.set(name, 'entered');
        shape = shapeOf(fragment.selectionSet, fragments, memo);
        memo.set(name, shape);
      }
      merge(shape, 0);
    }
  }
  return { depth, deepest, aliases, introspectionAliases, directives };
}

const fragmentMaps = new WeakMap<DocumentNode, Map<string, FragmentDefinitionNode>>();

/**
 * The fragments of `document` by name, read once per document: the shape rule asks for each of
 * its operations (a document of 20,000 operations read its definitions 20,000 times over).
 */
function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const known = fragmentMaps.get(document);
  if (known) return known;
  const map = new Map<string, FragmentDefinitionNode>();
  fragmentMaps.set(document, map);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) map.set(definition.name.value, definition);
  }
  return map;
}

/** Validation rule: depth of field nesting, aliases and directives per operation. */
export function shapeLimitsRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation: OperationDefinitionNode) {
      const fragments = fragmentsOf(context.getDocument());
      const shape = shapeOf(operation.selectionSet, fragments);
      if (shape.depth > limits.maxDepth) {
        context.reportError(
          limitError(
            LimitCode.QUERY_TOO_DEEP,
            `Query is deeper than ${limits.maxDepth} levels`,
            { limit: limits.maxDepth },
            shape.deepest,
          ),
        );
        return;
      }
      let directives = add(operation.directives?.length ?? 0, shape.directives);
      for (const fragment of fragments.values()) directives = add(directives, fragment.directives?.length ?? 0);
      if (shape.introspectionAliases > 0) {
        context.reportError(
          limitError(LimitCode.TOO_MANY_ALIASES, 'Aliases inside introspection (__schema, __type) are not allowed', {
            limit: 0,
          }),
        );
      }
      if (shape.aliases > limits.maxAliases) {
        context.reportError(
          limitError(LimitCode.TOO_MANY_ALIASES, `More than ${limits.maxAliases} aliases`, {
            limit: limits.maxAliases,
          }),
        );
      }
      if (directives > limits.maxDirectives) {
        context.reportError(
          limitError(LimitCode.TOO_MANY_DIRECTIVES, `More than ${limits.maxDirectives} directives`, {
            limit: limits.maxDirectives,
          }),
        );
      }
    },
  });
}

/** Default page size assumed for a connection without first/last, and list sizes for plain lists. */
const LIST_SIZES: Record<string, number> = {
  'Article.authors': MAX_LINKS_PER_ARTICLE.authors,
  'Article.topics': MAX_LINKS_PER_ARTICLE.topics,
  'SavedSearch.webhooks': MAX_WEBHOOKS_PER_SEARCH,
  'Webhook.deliveries': MAX_DELIVERIES_PAGE,
  'WebhookDelivery.log': ATTEMPTS_SHOWN,
};

/** The database work a field's arguments ask for (filters, searches), and a highlight's own work. */
function argumentsCost(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  let total = field.name === 'highlight' ? WORK_COSTS.highlight : 0;
  for (const arg of field.args) {
    const filter = FILTERS[getNamedType(arg.type).name];
    if (filter) total += filterCost(filter, args[arg.name]);
  }
  if (typeof args.search === 'string') total += WORK_COSTS.search;
  // `stories` always collapses
  if (args.collapse === 'STORY' || field.name === 'stories') total += WORK_COSTS.collapse;
  return total;
}

/**
 * How many items each introspection list field answers in a schema, by `Type.field` (the mean
 * over the types, fields or directives it is read on: a selection over every type answers that
 * many in all), and the weight of each kind of `description` (a description answers far more
 * than a name or a kind). The sizes estimate bytes, so that queries compare by what they answer.
 */
function introspectionListSizes(schema: GraphQLSchema): Record<string, number> {
  const types = Object.values(schema.getTypeMap());
  // the mean over every type (a type without such a list answers null): a list's expected length
  const mean = (counts: number[]) => Math.max(1, counts.reduce((sum, n) => sum + n, 0) / Math.max(counts.length, 1));
  const fieldsOf = types.flatMap((type) => (isObjectType(type) || isInterfaceType(type) ? [type] : []));
  const args = mean(fieldsOf.flatMap((type) => Object.values(type.getFields()).map((field) => field.args.length)));
  // what a `description` answers, in units of about 11 bytes (what a name or a kind answers,
  // its key included): the mean of each kind's, described or not, its key and quotes included
  const weight = (texts: (string | null | undefined)[]) =>
    Math.max(
      1,
      Math.ceil((texts.reduce((sum, text) => sum + (text?.length ?? 0), 0) / Math.max(texts.length, 1) + 16) / 11),
    );
  const fields = fieldsOf.flatMap((type) => Object.values(type.getFields()));
  const inputFields = types.flatMap((type) => (isInputObjectType(type) ? Object.values(type.getFields()) : []));
  // a type reference (`type { ofType { ofType ... } }`) answers null past its wrappers (NON_NULL,
  // LIST): `ofType` is there for the share of reference levels that wrap another
  let wrappers = 0;
  const references = [
    ...fields.map((field) => field.type),
    ...fields.flatMap((field) => field.args.map((arg) => arg.type)),
    ...inputFields.map((field) => field.type),
  ];
  for (let type of references) {
    while ('ofType' in type) {
      wrappers += 1;
      type = type.ofType as typeof type;
    }
  }
  return {
    '__Schema.description': weight([schema.description]),
    '__Type.description': weight(types.map((type) => type.description)),
    '__Field.description': weight(fields.map((field) => field.description)),
    '__InputValue.description': weight([
      ...fields.flatMap((field) => field.args.map((arg) => arg.description)),
      ...inputFields.map((field) => field.description),
    ]),
    '__EnumValue.description': weight(
      types.flatMap((type) => (isEnumType(type) ? type.getValues().map((value) => value.description) : [])),
    ),
    '__Directive.description': weight(schema.getDirectives().map((directive) => directive.description)),
    '__Schema.types': types.length,
    '__Schema.directives': Math.max(1, schema.getDirectives().length),
    '__Type.fields': mean(
      types.map((type) => (isObjectType(type) || isInterfaceType(type) ? Object.keys(type.getFields()).length : 0)),
    ),
    '__Type.inputFields': mean(
      types.map((type) => (isInputObjectType(type) ? Object.keys(type.getFields()).length : 0)),
    ),
    '__Type.enumValues': mean(types.map((type) => (isEnumType(type) ? type.getValues().length : 0))),
    '__Type.interfaces': mean(
      types.map((type) => (isObjectType(type) || isInterfaceType(type) ? type.getInterfaces().length : 0)),
    ),
    '__Type.possibleTypes': mean(
      types.map((type) => (isAbstractType(type) ? schema.getPossibleTypes(type).length : 0)),
    ),
    '__Type.ofType': wrappers / Math.max(wrappers + references.length, 1),
    '__Field.args': args,
    '__Directive.args': mean(schema.getDirectives().map((directive) => directive.args.length)),
  };
}

/**
 * How much introspection a selection set (of `__Schema` or `__Type`) asks for: every field 1 (a
 * `description` its weight, introspectionListSizes), and
 * what is selected under a list field times the items that list has in this schema (the
 * number of types, the mean fields of a type...; `sizes`, for a `__type` root, its own type's).
 * Fragments are counted once per type they are read as; counting stops past `cap`.
 */
function introspectionSize(
  schema: GraphQLSchema,
  fragments: Map<string, FragmentDefinitionNode>,
  selectionSet: SelectionSetNode,
  typeName: string,
  cap: number,
  memo = new Map<string, number | 'entered'>(),
  sizes = introspectionListSizesOf(schema),
): number {
  const type = schema.getType(typeName);
  if (!isObjectType(type)) return 0;
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (total > cap) return total;
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      total += introspectionSize(schema, fragments, selection.selectionSet, typeName, cap, memo, sizes);
      continue;
    }
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = fragments.get(selection.name.value);
      if (!fragment) continue;
      // a `__type` root's own sizes differ from the means its children are counted with
      const key = `${fragment.name.value}@${typeName}${sizes === introspectionListSizesOf(schema) ? '' : ':root'}`;
      let size = memo.get(key);
      if (size === 'entered') continue;
      if (size === undefined) {
        memo.set(key, 'entered');
        size = introspectionSize(schema, fragments, fragment.selectionSet, typeName, cap, memo, sizes);
        memo.set(key, size);
      }
      total += size;
      continue;
    }
    // a leaf costs its weight (a description's), a list or object field 1 plus what it selects
    total += selection.selectionSet ? 1 : (sizes[`${typeName}.${selection.name.value}`] ?? 1);
    const field = type.getFields()[selection.name.value];
    if (!field || !selection.selectionSet) continue;
    const child = introspectionSize(
      schema,
      fragments,
      selection.selectionSet,
      getNamedType(field.type).name,
      cap,
      memo,
    );
    // each item answers its braces too
    total += (child + 1) * (sizes[`${typeName}.${field.name}`] ?? 1);
  }
  return total;
}

/** The lists of one named type, as `__type(name:)` answers them: its own counts, not the means. */
function listsOf(schema: GraphQLSchema, type: GraphQLNamedType): Record<string, number> {
  const fields =
    isObjectType(type) || isInterfaceType(type) || isInputObjectType(type) ? Object.keys(type.getFields()).length : 0;
  return {
    '__Type.fields': isInputObjectType(type) ? 1 : Math.max(1, fields),
    '__Type.inputFields': isInputObjectType(type) ? Math.max(1, fields) : 1,
    '__Type.enumValues': isEnumType(type) ? Math.max(1, type.getValues().length) : 1,
    '__Type.interfaces': isObjectType(type) || isInterfaceType(type) ? Math.max(1, type.getInterfaces().length) : 1,
    '__Type.possibleTypes': isAbstractType(type) ? Math.max(1, schema.getPossibleTypes(type).length) : 1,
  };
}

const listSizeCache = new WeakMap<GraphQLSchema, Record<string, number>>();
/** introspectionListSizes, computed once per schema. */
function introspectionListSizesOf(schema: GraphQLSchema): Record<string, number> {
  let sizes = listSizeCache.get(schema);
  if (!sizes) listSizeCache.set(schema, (sizes = introspectionListSizes(schema)));
  return sizes;
}

/** The `name` argument of a `__type` field (a literal or a variable), if it is a string. */
function introspectionTypeName(selection: FieldNode, variables: Record<string, unknown>): string | undefined {
  const argument = selection.arguments?.find((arg) => arg.name.value === 'name');
  if (!argument) return undefined;
  const value =
    argument.value.kind === Kind.STRING
      ? argument.value.value
      : argument.value.kind === Kind.VARIABLE
        ? variables[argument.value.name.value]
        : undefined;
  return typeof value === 'string' ? value : undefined;
}

const fullIntrospectionCache = new WeakMap<GraphQLSchema, number>();
/**
 * The introspection size (introspectionSize) of a full introspection query as tools send it:
 * graphql-js's getIntrospectionQuery with every option on. Computed once per schema.
 */
function fullIntrospectionSize(schema: GraphQLSchema): number {
  let size = fullIntrospectionCache.get(schema);
  if (size === undefined) {
    const document = parse(
      getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
        oneOf: true,
      }),
    );
    const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION)!;
    const field = operation.selectionSet.selections.find(
      (selection): selection is FieldNode => selection.kind === Kind.FIELD && selection.name.value === '__schema',
    )!;
    size = introspectionSize(schema, fragmentsOf(document), field.selectionSet!, '__Schema', Infinity);
    fullIntrospectionCache.set(schema, size);
  }
  return size;
}

/**
 * The cost of an operation: every field costs 1 plus the database work its arguments ask for
 * (WORK_COSTS), and the cost of what is selected under a list is multiplied by its size:
 * `first`/`last` (default 20) for connections (their edges are not counted again), the number
 * of ids for `nodes`, the input limits for an article's authors (20) and topics (50), 100 for
 * any other list. Introspection (`__schema`, `__type`) costs in proportion to its
 * introspectionSize, a full introspection query (fullIntrospectionSize) a third of `limit`, so at
 * most three fit, and a selection that nests type lists inside each other (every `fields` under
 * each `ofType`) costs what it would answer. Counting stops once past twice `limit` (a huge query
 * costs no more work to refuse), so a result above `limit` is a lower bound.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limit: number,
): number {
  const cap = 2 * limit;
  const fragments = fragmentsOf(document);
  // a fragment's cost, by fragment and the type it is read as: computed once however often it is
  // spread (a chain of fragments each spreading the next twice is 2^n paths); 'entered' while it is
  // being computed, so a fragment spread inside itself counts nothing there (validation refuses it)
  const fragmentCosts = new Map<string, number | 'entered'>();
  const costOf = (selectionSet: SelectionSetNode, parent: GraphQLOutputType): number => {
    let total = 0;
    const named = getNamedType(parent);
    for (const selection of selectionSet.selections) {
      if (total > cap) return total;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition
          ? (schema.getType(selection.typeCondition.name.value) as GraphQLOutputType)
          : parent;
        total += costOf(selection.selectionSet, type ?? parent);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) continue;
        const type = (schema.getType(fragment.typeCondition.name.value) as GraphQLOutputType | undefined) ?? parent;
        const key = `${fragment.name.value}@${getNamedType(type).name}`;
        let cost = fragmentCosts.get(key);
        if (cost === 'entered') continue;
        if (cost === undefined) {
          fragmentCosts.set(key, 'entered');
          cost = costOf(fragment.selectionSet, type);
          fragmentCosts.set(key, cost);
        }
        total += cost;
        continue;
      }
      if (selection.name.value.startsWith('__')) {
        const name = selection.name.value;
        if ((name === '__schema' || name === '__type') && selection.selectionSet) {
          // a full introspection (about 180 KB) costs a third of the limit
          const share = Math.floor(limit / 3);
          const full = fullIntrospectionSize(schema);
          // `__type(name:)` answers one type: its own lists count, not the means over all types
          const typeName = name === '__type' ? introspectionTypeName(selection, variables) : undefined;
          const known = typeName === undefined ? undefined : schema.getType(typeName);
          const means = introspectionListSizesOf(schema);
          const size = introspectionSize(
            schema,
            fragments,
            selection.selectionSet,
            name === '__schema' ? '__Schema' : '__Type',
            (cap * full) / Math.max(share, 1),
            new Map(),
            known ? { ...means, ...listsOf(schema, known) } : means,
          );
          total += Math.ceil((size * share) / full);
        }
        continue;
      }
      total += 1;
      let field: GraphQLField<unknown, unknown> | undefined;
      if (isObjectType(named) || isInterfaceType(named)) field = named.getFields()[selection.name.value];
      if (!field) {
        // a union or unknown field: count the selection once
        if (selection.selectionSet) total += costOf(selection.selectionSet, parent);
        continue;
      }
      let args: Record<string, unknown> | undefined;
      try {
        args = getArgumentValues(field, selection, variables);
      } catch {
        // invalid arguments fail validation or coercion on their own
      }
      if (args) total += argumentsCost(field, args);
      if (!selection.selectionSet) continue;
      const child = costOf(selection.selectionSet, field.type);
      total += child * (args ? multiplier(named.name, field, args) : 1);
    }
    return total;
  };
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return 0;
  return costOf(operation.selectionSet, root);
}

function multiplier(parentName: string, field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  if (getNamedType(field.type).name.endsWith('Connection')) {
    const size = (args.first ?? args.last) as number | undefined;
    // sizes over the maximum are refused by the field itself (INVALID_PAGE_SIZE), before any SQL
    return typeof size === 'number' && size >= 0 ? Math.min(Math.max(size, 1), MAX_PAGE_SIZE + 1) : DEFAULT_PAGE_SIZE;
  }
  // a connection's edges are already counted by the connection's page size
  if (parentName.endsWith('Connection')) return 1;
  // more ids than a page are refused by `nodes` itself (INVALID_PAGE_SIZE)
  if (field.name === 'nodes' && Array.isArray(args.ids))
    return Math.min(Math.max(args.ids.length, 1), MAX_PAGE_SIZE + 1);
  if (isListType(getNullableType(field.type))) {
    const most = LIST_SIZES[`${parentName}.${field.name}`] ?? 100;
    // a list with its own `first` (Webhook.deliveries) returns at most that many
    return typeof args.first === 'number' && args.first >= 1 ? Math.min(args.first, most) : most;
  }
  return 1;
}

/** Lexical tokens of a document, counting stops past `stopAfter`; a lexing error ends the count (the parser reports it). */
function countTokens(source: string, stopAfter: number): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      count += 1;
      if (count > stopAfter) break;
    }
  } catch {
    // syntax errors are the parser's to report
  }
  return count;
}

/**
 * TOO_MANY_TOKENS when `text` holds more than `limits.maxTokens` tokens, counted before parsing
 * (so an oversized document costs no parser work, and none nests deep enough to exhaust the
 * parser's stack); undefined otherwise. HTTP requests pass it in useQueryLimits, GraphQL over
 * WebSocket subscriptions in websocket.ts.
 */
export function tokenLimitError(text: string, limits: Pick<QueryLimits, 'maxTokens'>): GraphQLError | undefined {
  if (countTokens(text, limits.maxTokens) <= limits.maxTokens) return undefined;
  return limitError(LimitCode.TOO_MANY_TOKENS, `Document has more than ${limits.maxTokens} tokens`, {
    limit: limits.maxTokens,
  });
}

/** Yoga plugin: token limit before parsing, shape limits at validation, cost before execution. */
export function useQueryLimits(limits: QueryLimits): Plugin {
  /** Refuses an operation costing more than maxCost (QUERY_TOO_COSTLY), before it runs. */
  function priceOperation(
    args: { document: unknown; operationName?: string | null; schema: GraphQLSchema; variableValues?: unknown },
    setResultAndStopExecution: (result: ExecutionResult) => void,
  ): void {
    const document = args.document as DocumentNode;
    const operation = document.definitions.find(
      (definition): definition is OperationDefinitionNode =>
        definition.kind === Kind.OPERATION_DEFINITION &&
        (args.operationName == null || definition.name?.value === args.operationName),
    );
    if (!operation) return;
    // the cost reads arguments as the resolvers will get them: variables coerced to their types
    const variables = coercedVariables(
      args.schema,
      operation,
      args.variableValues as Record<string, unknown> | undefined,
    );
    // variables that do not coerce: execution refuses them before anything runs
    if (!variables) return;
    const cost = operationCost(args.schema, document, operation, variables, limits.maxCost);
    if (cost > limits.maxCost) {
      setResultAndStopExecution({
        errors: [
          limitError(
            LimitCode.QUERY_TOO_COSTLY,
            `Query costs ${cost > 2 * limits.maxCost ? `at least ${cost}` : cost}, more than ${limits.maxCost}: page sizes multiply the cost of what they select, text filters, searches and highlights cost their database work, and introspection what it answers (a full introspection query is a third of the limit)`,
            // counting stopped past twice the limit: the cost given is then a lower bound
            { limit: limits.maxCost, cost, costIsExact: cost <= 2 * limits.maxCost },
          ),
        ],
      });
    }
  }
  return {
    onParams({ params, setResult }) {
      const error = typeof params.query === 'string' ? tokenLimitError(params.query, limits) : undefined;
      if (error) setResult({ errors: [error] });
    },
    // graphql-js parses recursively: a value literal nested about 2,000 levels deep (within a
    // raised MAX_TOKENS) overflowed the stack, a RangeError Yoga answered as a 500
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, options);
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          throw new GraphQLError('Syntax Error: the document is nested too deeply to parse', {
            extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
          });
        }
      });
    },
    onValidate({ addValidationRule }) {
      addValidationRule(shapeLimitsRule(limits));
    },
    // a subscription is priced as a query is, when it starts (envelop's onSubscribe)
    onExecute: ({ args, setResultAndStopExecution }) => priceOperation(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => priceOperation(args, setResultAndStopExecution),
  };
}
