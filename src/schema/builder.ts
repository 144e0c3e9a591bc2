import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, isObjectType, Kind, type GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.ts';
import { prisma } from '../db/client.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import { parseInstant } from '../input/instant.ts';
import '../input/pothosBoundary.ts';
import PrismaTypes, { getDatamodel } from '../generated/pothos-prisma-types.ts';
import { expectedErrors } from '../observability.ts';
import { MAX_PAGE_SIZE } from '../resolvers/lists/connection.ts';
import { hasRole } from '../resolvers/access/viewer.ts';
import { INT4 } from '../db/ranges.ts';

/** The typename a malformed global ID decodes to: no type has it, so every use refuses it. */
const MALFORMED = '';

/**
 * Global IDs are base64("Type:id") with a positive 32-bit integer id. A malformed one decodes
 * to the MALFORMED typename instead of throwing, so that it is refused where it is used: as
 * INVALID_ID for that argument, and in `nodes(ids:)` for that ID alone.
 */
export function decodeGlobalID(globalID: string): { typename: string; id: string } {
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(globalID) ? Buffer.from(globalID, 'base64').toString('utf8') : '';
  const match = /^([A-Z][A-Za-z]*):([1-9][0-9]{0,9})$/.exec(decoded);
  if (!match || Number(match[2]) > INT4.max) return { typename: MALFORMED, id: globalID.slice(0, 100) };
  return { typename: match[1]!, id: match[2]! };
}

/**
 * A global ID: base64 of "Type:id" (relay Global Object Identification,
 * https://relay.dev/graphql/objectidentification.htm); also for IDs inside error results.
 */
export function encodeGlobalID(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64');
}

/**
 * Node types only some roles may read: `node(id:)` of one answers FORBIDDEN to others whether or
 * not the object exists, so that the answer does not tell which ids exist.
 */
const RESTRICTED_NODES: Readonly<Record<string, 'EDITOR'>> = { SavedSearch: 'EDITOR', Webhook: 'EDITOR' };

/** A decoded global ID whose type is a Node of this schema (INVALID_ID) the viewer may read (FORBIDDEN). */
function nodeId(
  info: GraphQLResolveInfo,
  id: { typename: string; id: string },
  context: Context,
): { typename: string; id: string } {
  if (id.typename === MALFORMED) throw new UserInputError(ErrorCode.INVALID_ID, `"${id.id}" is not a valid ID`);
  const role = RESTRICTED_NODES[id.typename];
  if (role && !hasRole(context.viewer, role)) {
    throw new UserInputError(
      ErrorCode.FORBIDDEN,
      context.viewer.kind === 'anonymous' ? 'This needs an API key' : 'Your API key does not allow this',
    );
  }
  const type = info.schema.getType(id.typename);
  if (!isObjectType(type) || !type.getInterfaces().some((face) => face.name === 'Node')) {
    throw new UserInputError(ErrorCode.INVALID_ID, `"${id.typename}" is not a type that can be fetched by ID`);
  }
  return id;
}

/** `name` with its first letter upper-cased (type names from field names). */
export function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * The Pothos schema builder every schema module adds to. Plugins: scope auth (`editor`/`admin`
 * from the viewer's role; a query field whose scope the viewer lacks fails FORBIDDEN), errors
 * (a mutation's expected failures are members of its `<Field>Result` union), relay (global IDs,
 * `node`/`nodes`: INVALID_ID, INVALID_PAGE_SIZE), prisma, and the input boundary. Fields are
 * non-null unless marked nullable.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { editor: boolean; admin: boolean };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSONObject: { Input: Record<string, unknown>; Output: object };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string | number };
  };
}>({
  defaultFieldNullability: false,
  // the input boundary last: it wraps resolvers innermost, inside the errors plugin
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, PrismaPlugin, 'inputBoundary'],
  scopeAuth: {
    authScopes: (context) => ({
      editor: hasRole(context.viewer, 'EDITOR'),
      admin: hasRole(context.viewer, 'ADMIN'),
    }),
    // fields that need a role (queries; mutations answer ForbiddenError in their result union)
    unauthorizedError: (_parent, context) =>
      new GraphQLError(
        context.viewer.kind === 'anonymous' ? 'This needs an API key' : 'Your API key does not allow this',
        { extensions: { code: 'FORBIDDEN' } },
      ),
  },
  errors: {
    // Only our own expected failures become results; anything else stays an unexpected, masked error.
    defaultTypes: [],
    onResolvedError: (error) => expectedErrors.inc({ code: (error as { code?: string }).code ?? error.name }),
    defaultResultOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Success` },
    defaultUnionOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Result` },
  },
  relay: {
    decodeGlobalID,
    encodeGlobalID,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    // an ID of a type that is not a node (ApiKey:1, Foo:1) is INVALID_ID, for that ID only
    nodeQueryOptions: {
      resolve: (_root, args, context, info, resolveNode) => resolveNode(nodeId(info, args.id, context)),
    },
    nodesQueryOptions: {
      description: `The objects with these global IDs, in the same order: at most ${MAX_PAGE_SIZE} IDs (more: INVALID_PAGE_SIZE). An ID that is malformed or names no object gives an INVALID_ID error or null at its index alone.`,
      resolve: async (_root, args, context, info, resolveNodes) => {
        if (args.ids.length > MAX_PAGE_SIZE) {
          throw new UserInputError(
            ErrorCode.INVALID_PAGE_SIZE,
            `"ids" may hold at most ${MAX_PAGE_SIZE} IDs; got ${args.ids.length}`,
            { argumentName: 'ids', max: MAX_PAGE_SIZE },
          );
        }
        const ids = args.ids.map((id) => {
          try {
            return nodeId(info, id, context);
          } catch (error) {
            return error as UserInputError;
          }
        });
        const valid = ids.filter((id): id is { typename: string; id: string } => !(id instanceof Error));
        // (plugin-relay 4.8 loads `args.ids` whatever it is given: both say the same)
        args.ids = valid;
        const loaded = await resolveNodes(valid);
        let next = 0;
        // graphql-js reports an Error in a list as an error at its index, the others resolve
        return ids.map((id) => (id instanceof Error ? id : loaded[next++]));
      },
    },
  },
  prisma: {
    client: prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
});

builder.scalarType('DateTime', {
  description:
    'An instant as an ISO-8601 string, e.g. 2026-04-07T01:24:00.000Z (always UTC in results, to the millisecond). Input: a real calendar date from year 0001 to 9999, with a time zone (Z or ±hh:mm) when a time is given; finer digits than milliseconds round filter bounds so comparisons stay true.',
  serialize: (value) => value.toISOString(),
  parseValue: parseInstant,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) {
      throw new GraphQLError('DateTime must be a string', { extensions: { code: ErrorCode.BAD_USER_INPUT } });
    }
    return parseInstant(ast.value);
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
