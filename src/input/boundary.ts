import {
  getArgumentValues,
  getVariableValues,
  GraphQLError,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.ts';
import { InputTooLarge, inputShape, textProblems, type TextProblem } from './text.ts';

/**
 * The input boundary: what every argument and input field passes before any resolver, and so
 * before any SQL. Three steps, in order, for the operation about to run:
 *
 * 1. Size: variables nested deeper than MAX_INPUT_DEPTH, or holding more than MAX_INPUT_VALUES
 *    values, are refused before graphql-js coerces them (its coercion recurses, and a 2,000-level
 *    filter would overflow the stack); arguments holding more than MAX_ARGUMENT_VALUES values
 *    once variables are put in (a 600 KB variable used 100 times is 20 million) are refused
 *    before anything walks them again.
 * 2. Unicode: every string (literals in the document, variables) is taken in Normalization Form C
 *    (UAX #15), so text typed decomposed matches text filed precomposed.
 * 3. Characters: a string holding a NUL (U+0000, which PostgreSQL text cannot store) or a lone
 *    surrogate (which is not a character) is refused, wherever it stands. Arguments of query
 *    fields, nested ones included, are checked here, as graphql-js will coerce them: the answer
 *    is BAD_USER_INPUT with HTTP 400 and nothing runs. Arguments of root mutation fields are
 *    left to the mutation, which answers a ValidationError in its result (see pothosBoundary.ts).
 *
 * Each field's own rules (lengths in code points, ranges, blank values) are its domain's.
 */

/** Objects and arrays nested deeper than this in variables are refused. A filter at its own depth limit needs about 20. */
export const MAX_INPUT_DEPTH = 64;

/**
 * Values (objects, lists, scalars) the variables of one request may hold: a largest article (20
 * authors, 50 topics) is under 200, a filter at its limits under 2,000, `nodes` takes 100 IDs.
 * graphql-js coerces every value before any resolver can refuse a list for its length, about
 * 15 microseconds each here: at 100,000, one anonymous request of empty filter objects held the
 * process for 1-2 s before its `OR has more than 100 values` came back.
 */
export const MAX_INPUT_VALUES = 10_000;
/** Values the arguments of one operation may hold once variables are put in: a variable used many times counts each time. */
export const MAX_ARGUMENT_VALUES = 20_000;

const NON_ASCII = /[^\x00-\x7f]/;

function nfc(value: string): string {
  return NON_ASCII.test(value) ? value.normalize('NFC') : value;
}

/** A copy of `value` with every string in NFC (the same object when nothing changes). Iterates lists and objects. */
export function normalizeDeep<T>(value: T): T {
  if (typeof value === 'string') return nfc(value) as T;
  if (Array.isArray(value)) {
    const items = value.map(normalizeDeep);
    return (items.some((item, i) => item !== value[i]) ? items : value) as T;
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]) => {
      const normal = normalizeDeep(item);
      if (normal !== item) changed = true;
      return [key, normal] as const;
    });
    // fromEntries defines each key as an own property, as JSON.parse does: an assignment to a
    // "__proto__" key would set the copy's prototype instead, and the fields under it would be
    // read as the object's own (an unknown field applied instead of refused)
    return (changed ? Object.fromEntries(entries) : value) as T;
  }
  return value;
}

/** The document with its string literals in NFC (the same document when they already are). */
function normalizeLiterals(document: DocumentNode): DocumentNode {
  // an ASCII document can still spell other characters as \u escapes
  const source = document.loc?.source.body;
  if (source !== undefined && !NON_ASCII.test(source) && !source.includes('\\u')) return document;
  return visit(document, {
    [Kind.STRING]: (node) => {
      const value = nfc(node.value);
      return value === node.value ? undefined : { ...node, value };
    },
  });
}

const NO_VARIABLES: Record<string, unknown> = Object.freeze({});
const coercions = new WeakMap<object, WeakMap<OperationDefinitionNode, Record<string, unknown> | null>>();

/**
 * The variables of `operation` coerced to their declared types (graphql-js getVariableValues), or
 * null when they do not coerce (execution refuses them with its own message). Computed once per
 * variables object and operation: the input boundary and the query cost read the same result.
 */
export function coercedVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): Record<string, unknown> | null {
  const key = variables ?? NO_VARIABLES;
  let byOperation = coercions.get(key);
  if (!byOperation) coercions.set(key, (byOperation = new WeakMap()));
  if (!byOperation.has(operation)) {
    const result = getVariableValues(schema, operation.variableDefinitions ?? [], key, { maxErrors: 1 });
    byOperation.set(operation, result.coerced ?? null);
  }
  return byOperation.get(operation)!;
}

function refusal(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 }, ...extensions },
  });
}

/**
 * Step 1's first half, for variables as the client sent them (any JSON value): BAD_USER_INPUT
 * (HTTP 400, `limit`) when they nest deeper than MAX_INPUT_DEPTH or hold more than
 * MAX_INPUT_VALUES values, undefined otherwise. Walks them without recursion, so it may run before
 * anything else reads them (the response cache key, the WebSocket server's bookkeeping).
 */
export function variablesRefusal(variables: unknown): GraphQLError | undefined {
  if (variables === null || typeof variables !== 'object') return undefined;
  // one request's variables are read at its parameters, its cache key and its execution: walked once
  let found = shapeProblems.get(variables);
  if (found === undefined) {
    const shape = inputShape(variables);
    found =
      shape.depth > MAX_INPUT_DEPTH
        ? { message: `Variables are nested deeper than ${MAX_INPUT_DEPTH} levels`, limit: MAX_INPUT_DEPTH }
        : shape.values > MAX_INPUT_VALUES
          ? { message: `Variables hold more than ${MAX_INPUT_VALUES} values`, limit: MAX_INPUT_VALUES }
          : null;
    shapeProblems.set(variables, found);
  }
  return found ? refusal(found.message, { limit: found.limit }) : undefined;
}
const shapeProblems = new WeakMap<object, { message: string; limit: number } | null>();

/** A field of a document that has arguments (outside root mutation fields), with its response name. */
interface ArgumentField {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
  name: string;
}

const argumentFieldsOf = new WeakMap<OperationDefinitionNode, { schema: GraphQLSchema; fields: ArgumentField[] }>();

/**
 * The fields with arguments of `operation` and the fragments of `document`, except root mutation
 * fields, in document order. Found once per parsed operation (Yoga keeps parsed documents), as
 * the schema's types do not change: a request then only reads its argument values.
 */
function argumentFields(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) {
  const known = argumentFieldsOf.get(operation);
  if (known?.schema === schema) return known.fields;
  const typeInfo = new TypeInfo(schema);
  const mutation = schema.getMutationType();
  const fields: ArgumentField[] = [];
  const definitions = document.definitions.filter(
    (definition) => definition === operation || definition.kind === Kind.FRAGMENT_DEFINITION,
  );
  for (const definition of definitions) {
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const field = typeInfo.getFieldDef();
          if (!field || !node.arguments?.length) return;
          if (mutation && typeInfo.getParentType() === mutation) return;
          fields.push({ field, node, name: node.alias?.value ?? node.name.value });
        },
      }),
    );
  }
  argumentFieldsOf.set(operation, { schema, fields });
  return fields;
}

/**
 * The text problems in the arguments of every field of `operation` (and the fragments it may
 * use) except root mutation fields, with paths such as `articles.filter.title.contains`.
 */
function argumentProblems(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): TextProblem[] {
  const coerced = coercedVariables(schema, operation, variables);
  // variables that do not coerce are refused by execution itself, with their own message
  if (!coerced) return [];
  const problems: TextProblem[] = [];
  const budget = { values: MAX_ARGUMENT_VALUES };
  for (const { field, node, name } of argumentFields(schema, document, operation)) {
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(field, node, coerced);
    } catch {
      continue; // refused by execution with graphql-js's own message
    }
    problems.push(...textProblems(values, [name], budget));
  }
  return problems;
}

/**
 * The Yoga plugin for steps 1-3 above, at execute: the operation's variables and string literals
 * are put in NFC; too-deep variables or a bad character in a non-mutation argument stop it with
 * BAD_USER_INPUT (HTTP 400), one error per string with its `argumentPath`.
 */
export function useInputBoundary(): Plugin {
  /** Steps 1-3 for one operation: normalizes `args` in place, or stops it. */
  function guard(
    args: { document: unknown; operationName?: string | null; schema: GraphQLSchema; variableValues?: unknown },
    setResultAndStopExecution: (result: ExecutionResult) => void,
  ): void {
    const tooLarge = variablesRefusal(args.variableValues);
    if (tooLarge) {
      setResultAndStopExecution({ errors: [tooLarge] });
      return;
    }
    const document = normalizeLiterals(args.document as DocumentNode);
    args.document = document;
    if (args.variableValues) args.variableValues = normalizeDeep(args.variableValues);
    const operation = document.definitions.find(
      (definition): definition is OperationDefinitionNode =>
        definition.kind === Kind.OPERATION_DEFINITION &&
        (args.operationName == null || definition.name?.value === args.operationName),
    );
    if (!operation) return;
    let problems: TextProblem[];
    try {
      problems = argumentProblems(
        args.schema,
        document,
        operation,
        (args.variableValues ?? {}) as Record<string, unknown>,
      );
    } catch (error) {
      if (!(error instanceof InputTooLarge)) throw error;
      setResultAndStopExecution({
        errors: [
          refusal(`Arguments hold more than ${MAX_ARGUMENT_VALUES} values (a variable counts each time it is used)`, {
            limit: MAX_ARGUMENT_VALUES,
          }),
        ],
      });
      return;
    }
    if (problems.length) {
      setResultAndStopExecution({
        errors: problems.map((problem) =>
          refusal(`"${problem.path.join('.')}": ${problem.message}`, { argumentPath: problem.path }),
        ),
      });
    }
  }
  return {
    onExecute: ({ args, setResultAndStopExecution }) => guard(args, setResultAndStopExecution),
    // a subscription's arguments, when it starts
    onSubscribe: ({ args, setResultAndStopExecution }) => guard(args, setResultAndStopExecution),
  };
}

/** What a parameter is, in Yoga's words ("array", "number"...). */
function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function badParam(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}

/**
 * The request's GraphQL-over-HTTP parameters, checked before any plugin reads them (it goes first):
 * `query` and `operationName` each a string or null, `variables` and `extensions` each a map or
 * null (https://graphql.github.io/graphql-over-http/draft/#sec-Request-Parameters), and step 1
 * above on the variables. A list nested 6,000 deep as an `operationName`, made text by the first
 * plugin that read it, recursed past the stack (a 500); so did such variables, keyed by the
 * response cache. Refused with HTTP 400: BAD_REQUEST in Yoga's words (its own check runs after
 * every plugin), or BAD_USER_INPUT for variables too deep or too many. Nothing after it runs.
 */
export function useRequestParameters(): Plugin {
  return {
    onParams({ params }) {
      for (const name of ['query', 'operationName'] as const) {
        const value: unknown = params[name];
        if (value != null && typeof value !== 'string') {
          throw badParam(`Expected "${name}" param to be a string, but given ${kindOf(value)}.`);
        }
      }
      for (const name of ['variables', 'extensions'] as const) {
        const value: unknown = params[name];
        if (value != null && (typeof value !== 'object' || Array.isArray(value))) {
          throw badParam(`Expected "${name}" param to be empty or an object, but given ${kindOf(value)}.`);
        }
      }
      const tooLarge = variablesRefusal(params.variables);
      if (tooLarge) throw tooLarge;
    },
  };
}
