import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { JSONResolver } from 'graphql-scalars';
import { prisma } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import {
  ArticleInTrashError,
  DuplicateUrlError,
  ErrorCode,
  UserInputError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { purgeArticle, restoreArticle, restoreArticleVersion } from '../resolvers/articles/writes.ts';
import { REVISION_FIELDS, type LinkedName, type RevisionField } from '../resolvers/articles/revisions.ts';
import { ALWAYS } from '../resolvers/lists/condition.ts';
import { checkPageSizes, pageWindow, type SortTerm } from '../resolvers/lists/connection.ts';
import { prismaPage } from '../resolvers/lists/page.ts';
import { Article } from './article.ts';
import { readBack } from './articleMutations.ts';
import { builder, encodeGlobalID } from './builder.ts';
import './errors.ts';
import { INT4 } from '../db/ranges.ts';

/**
 * Revision history and the trash: `Article.revisions`, `trashedArticles`, and the mutations
 * restoreArticleVersion, restoreArticle and purgeArticle (deleteArticle, which trashes, is in
 * articleMutations.ts). Resolvers: resolvers/articles/revisions.ts and writes.ts.
 */

builder.addScalarType('JSON', JSONResolver, {});

/** What a revision did. */
export const RevisionActionEnum = builder.enumType('RevisionAction', {
  values: {
    CREATED: { description: 'The article was filed (createArticle, or upsertArticle creating it).' },
    UPDATED: { description: 'updateArticle, or upsertArticle updating it.' },
    MERGED: { description: 'An author or topic merge changed its byline or topics.' },
    RESTORED: { description: 'restoreArticleVersion brought back an earlier state.' },
  } as const,
});

interface FieldChange {
  field: RevisionField;
  previous: unknown;
}

const ArticleFieldChange = builder.objectRef<FieldChange>('ArticleFieldChange').implement({
  description: 'A field a revision changed, and its value before.',
  fields: (t) => ({
    field: t.string({
      description:
        'The field, as CreateArticleInput names it: title, url, source, publishedAt, priority, isAustralian, description, summary, body, authors or topics.',
      resolve: (change) => change.field,
    }),
    previous: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Its value before the change (null for CREATED): a string, an ISO-8601 instant (publishedAt), an integer, a boolean, or for authors (byline order) and topics a list of `{ id, name }` (global IDs; the name as it was then).',
      resolve: (change) => change.previous,
    }),
  }),
});

function clientValue(field: string, value: unknown): unknown {
  if ((field === 'authors' || field === 'topics') && Array.isArray(value)) {
    const typename = field === 'authors' ? 'Author' : 'Topic';
    return (value as LinkedName[]).map((link) => ({ id: encodeGlobalID(typename, link.id), name: link.name }));
  }
  if (field === 'publishedAt' && typeof value === 'string') return new Date(value).toISOString();
  return value;
}

const ArticleRevision = builder.prismaObject('ArticleRevision', {
  description: 'One change of an article: the version it made, when, by which key, and what it changed.',
  fields: (t) => ({
    version: t.exposeInt('version', { description: 'The article version this change made.' }),
    action: t.field({ type: RevisionActionEnum, resolve: (revision) => revision.action }),
    at: t.expose('at', { type: 'DateTime', description: 'When the change was committed.' }),
    by: t.exposeString('by', { nullable: true, description: 'Name of the API key that made it.' }),
    changes: t.field({
      type: [ArticleFieldChange],
      description: 'The fields it changed, in CreateArticleInput order, with their previous values.',
      resolve: (revision) => {
        const changes = revision.changes as Record<string, unknown>;
        return REVISION_FIELDS.filter((field) => field in changes).map((field) => ({
          field,
          previous: clientValue(field, changes[field]),
        }));
      },
    }),
  }),
});

builder.prismaObjectFields(Article, (t) => ({
  revisions: t.connection(
    {
      type: ArticleRevision,
      description: "The article's changes, newest first (EDITOR).",
      authScopes: { editor: true },
      select: { id: true },
      resolve: (article, args) => {
        checkPageSizes(args);
        return resolveCursorConnection(
          { args, toCursor: (revision) => String(revision.version) },
          ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => {
            const version: { lt?: number; gt?: number } = {};
            // a cursor is a version: a positive integer, else INVALID_CURSOR (never an empty page)
            const cursor = (value: string) => {
              if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > INT4.max) {
                throw new UserInputError(ErrorCode.INVALID_CURSOR, 'Not a cursor of this list');
              }
              return Number(value);
            };
            if (after !== undefined) version.lt = cursor(after);
            if (before !== undefined) version.gt = cursor(before);
            return prisma.articleRevision.findMany({
              where: { articleId: article.id, version },
              orderBy: { version: inverted ? 'asc' : 'desc' },
              take: limit,
            });
          },
        );
      },
    },
    { name: 'ArticleRevisionConnection' },
    { name: 'ArticleRevisionEdge' },
  ),
}));

/** The trash's order: most recently trashed first (then the id, descending). */
const TRASH_ORDER: SortTerm[] = [{ column: 'deletedAt', kind: 'date', direction: 'DESC' }];

const TrashedArticle = builder.prismaObject('TrashedArticle', {
  description: 'An article in the trash: gone from every read path until restoreArticle puts it back.',
  fields: (t) => ({
    id: t.id({
      description: "The article's global ID (the one it had, and gets back when restored).",
      resolve: (trashed) => encodeGlobalID('Article', trashed.id),
    }),
    title: t.exposeString('title'),
    url: t.string({ resolve: (trashed) => String((trashed.row as { url: unknown }).url) }),
    source: t.exposeString('source'),
    publishedAt: t.expose('publishedAt', { type: 'DateTime' }),
    version: t.int({ resolve: (trashed) => Number((trashed.row as { version: unknown }).version) }),
    authorNames: t.stringList({
      description: 'Its byline, in order, as the names were when it was trashed.',
      resolve: (trashed) => (trashed.authors as unknown as LinkedName[]).map((link) => link.name ?? ''),
    }),
    topicNames: t.stringList({
      description: 'Its topics, as named when it was trashed, A-Z (the order Article.topics had).',
      resolve: (trashed) => (trashed.topics as unknown as LinkedName[]).map((link) => link.name ?? ''),
    }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime' }),
    deletedBy: t.exposeString('deletedBy', { nullable: true, description: 'Name of the API key that trashed it.' }),
  }),
});

builder.queryFields((t) => ({
  trashedArticles: t.connection(
    {
      type: TrashedArticle,
      description:
        'Articles in the trash, most recently trashed first (EDITOR). They are purged TRASH_RETENTION_DAYS after trashing.',
      authScopes: { editor: true },
      // keyset pages (deletedAt, id): a page goes on after its last row even once that row has
      // been restored or purged
      resolve: (_root, args) =>
        prismaPage(
          ALWAYS,
          TRASH_ORDER,
          pageWindow(TRASH_ORDER, args),
          (query) => prisma.trashedArticle.findMany(query as Prisma.TrashedArticleFindManyArgs),
          (where, cap) =>
            prisma.trashedArticle.count({ where: where as Prisma.TrashedArticleWhereInput, take: cap && cap + 1 }),
        ),
    },
    { name: 'QueryTrashedArticlesConnection' },
    { name: 'QueryTrashedArticlesConnectionEdge' },
  ),
}));

/** The `input` of restoreArticle and purgeArticle: a trashed article's global ID. */
const TrashedArticleInput = builder.inputType('TrashedArticleInput', {
  fields: (t) => ({ id: t.globalID({ for: Article, required: true, description: 'TrashedArticle.id.' }) }),
});

/** The `input` of restoreArticleVersion. */
const RestoreArticleVersionInput = builder.inputType('RestoreArticleVersionInput', {
  fields: (t) => ({
    id: t.globalID({ for: Article, required: true }),
    version: t.int({ required: true, description: 'The version to bring back (an ArticleRevision.version).' }),
    expectedVersion: t.int({
      required: true,
      description: 'The `version` you read; a stale one gives VersionConflictError.',
    }),
  }),
});

builder.mutationFields((t) => ({
  restoreArticleVersion: t.prismaField({
    type: 'Article',
    description:
      'Brings back the article as it was at `version`, as a new version (EDITOR). Nothing changes when it already is so.',
    args: { input: t.arg({ type: RestoreArticleVersionInput, required: true }) },
    errors: {
      types: [
        ValidationError,
        NotFoundError,
        VersionConflictError,
        DuplicateUrlError,
        ArticleInTrashError,
        ForbiddenError,
      ],
      dataField: { name: 'article' },
    },
    resolve: async (query, _root, { input }, context) => {
      const { id } = await restoreArticleVersion(prisma, input, context.viewer);
      return readBack(id, query);
    },
  }),
  restoreArticle: t.prismaField({
    type: 'Article',
    description:
      'Takes an article out of the trash, as it was, under its ID and version (EDITOR); an author or topic merged meanwhile comes back as the one it was merged into (one deleted meanwhile, by its name), and then, its links being others, under a new version with a RESTORED revision holding the links it had. DuplicateUrlError when a live article now has its link; ValidationError when its byline or topics pass the current limits.',
    args: { input: t.arg({ type: TrashedArticleInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, DuplicateUrlError, ForbiddenError],
      dataField: { name: 'article' },
    },
    resolve: async (query, _root, { input }, context) => {
      const { id } = await restoreArticle(prisma, input, context.viewer);
      return readBack(id, query);
    },
  }),
  purgeArticle: t.field({
    type: 'ID',
    description: 'Deletes a trashed article for good, with its revisions (ADMIN). It cannot be undone.',
    args: { input: t.arg({ type: TrashedArticleInput, required: true }) },
    errors: { types: [NotFoundError, ForbiddenError], dataField: { name: 'purgedId' } },
    resolve: async (_root, { input }, context) => {
      const { id } = await purgeArticle(prisma, input, context.viewer);
      return encodeGlobalID('Article', id);
    },
  }),
}));
