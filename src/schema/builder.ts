import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, Kind } from 'graphql';
import type { Context } from '../context.ts';
import { prisma } from '../db/client.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import PrismaTypes, { getDatamodel } from '../generated/pothos-prisma-types.ts';
import { expectedErrors } from '../observability.ts';
import { hasRole } from '../resolvers/viewer.ts';

/** Global IDs are base64("Type:id") with a positive integer id; anything else is INVALID_ID. */
function decodeGlobalID(globalID: string): { typename: string; id: string } {
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(globalID) ? Buffer.from(globalID, 'base64').toString('utf8') : '';
  const match = /^([A-Z][A-Za-z]*):([1-9][0-9]{0,9})$/.exec(decoded);
  if (!match || Number(match[2]) > 2147483647) {
    throw new UserInputError(ErrorCode.INVALID_ID, `"${globalID.slice(0, 100)}" is not a valid ID`);
  }
  return { typename: match[1]!, id: match[2]! };
}

export function encodeGlobalID(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64');
}

function parseDateTime(value: unknown): Date {
  // ISO-8601 with a date, and a time with an explicit zone when a time is given.
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)
  ) {
    throw new GraphQLError('DateTime must be an ISO-8601 string such as 2026-04-07T01:24:00Z', {
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError(`"${value}" is not a valid date`, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  }
  return date;
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { editor: boolean; admin: boolean };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string | number };
  };
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, PrismaPlugin, DataloaderPlugin],
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
  description: 'An instant as an ISO-8601 string, e.g. 2026-04-07T01:24:00.000Z (always UTC in results).',
  serialize: (value) => value.toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) {
      throw new GraphQLError('DateTime must be a string', { extensions: { code: ErrorCode.BAD_USER_INPUT } });
    }
    return parseDateTime(ast.value);
  },
});

builder.queryType({});
builder.mutationType({});
