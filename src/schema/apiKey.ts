import { prisma } from '../db/client.ts';
import { ForbiddenError, ValidationError } from '../errors.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../resolvers/access/apiKeys.ts';
import { requireRole } from '../resolvers/writing/transaction.ts';
import { builder } from './builder.ts';
import './errors.ts';
import { Role } from './viewer.ts';

/** API keys, managed by ADMIN keys through the running server; secrets are shown once, never listed. */

type ApiKeyShape = Awaited<ReturnType<typeof listApiKeys>>[number];

/**
 * The ApiKey object of the `apiKeys` query and the key mutations: name, role, prefix and
 * timestamps, never the secret or its hash.
 */
export const ApiKey = builder.objectRef<ApiKeyShape>('ApiKey').implement({
  description: 'An API key. Its secret is shown once, when it is created, and never stored.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique; recorded as createdBy/updatedBy of what the key writes.' }),
    role: t.field({ type: Role, resolve: (key) => key.role }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to recognise it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Last request made with the key, to within a minute.',
    }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key was revoked; it has been refused (HTTP 401) since.',
    }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1-100 characters: letters, digits, _ . @ : -. Never reused.' }),
    role: t.field({ type: Role, required: true }),
  }),
});

const RevokeApiKeyInput = builder.inputType('RevokeApiKeyInput', {
  fields: (t) => ({ name: t.string({ required: true, description: 'The name of an active key.' }) }),
});

const CreateApiKeySuccess = builder
  .objectRef<{ secret: string; record: ApiKeyShape }>('CreateApiKeySuccess')
  .implement({
    fields: (t) => ({
      secret: t.exposeString('secret', {
        description: 'The key, to send as "Authorization: Bearer <secret>". Shown this once: store it now.',
      }),
      apiKey: t.field({ type: ApiKey, resolve: (created) => created.record }),
    }),
  });

builder.queryField('apiKeys', (t) =>
  t.field({
    type: [ApiKey],
    description: 'Every API key, oldest first, without secrets (ADMIN; others get a FORBIDDEN error).',
    authScopes: { admin: true },
    resolve: () => listApiKeys(prisma),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeySuccess,
    description: 'Creates an API key (ADMIN) and returns its secret, once. No restart or CLI needed.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], directResult: true },
    resolve: (_root, { input }, context) => {
      requireRole(context.viewer, 'ADMIN');
      return createApiKey(prisma, input.name, input.role, context.viewer);
    },
  }),
  revokeApiKey: t.field({
    type: ApiKey,
    description: 'Revokes an active API key by name (ADMIN); requests with it get HTTP 401 from then on.',
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], dataField: { name: 'apiKey' } },
    resolve: (_root, { input }, context) => {
      requireRole(context.viewer, 'ADMIN');
      return revokeApiKey(prisma, input.name, context.viewer);
    },
  }),
}));
