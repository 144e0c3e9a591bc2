import type { Viewer as ViewerShape } from '../resolvers/access/viewer.ts';
import { builder } from './builder.ts';

/** Who the API believes is asking: anonymous (read-only) or an API key and its role. */
export const Role = builder.enumType('Role', {
  values: {
    EDITOR: { description: 'Creates and corrects articles, authors and topics.' },
    ADMIN: { description: 'Also deletes, merges and manages keys.' },
  } as const,
});

const Viewer = builder.objectRef<ViewerShape>('Viewer').implement({
  fields: (t) => ({
    anonymous: t.boolean({ resolve: (viewer) => viewer.kind === 'anonymous' }),
    keyName: t.string({ nullable: true, resolve: (viewer) => (viewer.kind === 'apiKey' ? viewer.name : null) }),
    role: t.field({ type: Role, nullable: true, resolve: (viewer) => (viewer.kind === 'apiKey' ? viewer.role : null) }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    description: 'The caller, as identified by its Authorization header.',
    resolve: (_root, _args, context) => context.viewer,
  }),
);
