import { prisma } from '../../src/db/client.ts';
import { createApiKey, revokeApiKey } from '../../src/resolvers/access/apiKeys.ts';

export type Caller = 'anonymous' | 'editor' | 'admin' | 'revoked' | 'unknown' | 'malformed';

/** Authorization headers for every kind of caller; keys are created in this file's database. */
export async function callers(): Promise<Record<Caller, Record<string, string>>> {
  const editor = await createApiKey(prisma, 'test-editor', 'EDITOR');
  const admin = await createApiKey(prisma, 'test-admin', 'ADMIN');
  const revoked = await createApiKey(prisma, 'test-revoked', 'ADMIN');
  await revokeApiKey(prisma, 'test-revoked');
  return {
    anonymous: {},
    editor: { authorization: `Bearer ${editor.secret}` },
    admin: { authorization: `Bearer ${admin.secret}` },
    revoked: { authorization: `Bearer ${revoked.secret}` },
    unknown: { authorization: `Bearer ngk_${'A'.repeat(43)}` },
    malformed: { authorization: 'Basic dXNlcjpwYXNz' },
  };
}

/** A fingerprint of everything mutations can write, to prove a refused one wrote nothing. */
export async function snapshot() {
  const [articles, authors, topics, bylines, tags, versions, keys] = await Promise.all([
    prisma.article.count(),
    prisma.author.count(),
    prisma.topic.count(),
    prisma.articleAuthor.count(),
    prisma.articleTopic.count(),
    prisma.article.aggregate({ _sum: { version: true } }),
    prisma.apiKey.findMany({ select: { name: true, revokedAt: true }, orderBy: { id: 'asc' } }),
  ]);
  const names = await prisma.author.findMany({ select: { name: true }, orderBy: { id: 'asc' } });
  const topicNames = await prisma.topic.findMany({ select: { name: true, slug: true }, orderBy: { id: 'asc' } });
  return { articles, authors, topics, bylines, tags, versions: versions._sum.version, names, topicNames, keys };
}
