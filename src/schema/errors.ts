import {
  AppError,
  ArticleInTrashError,
  DuplicateUrlError,
  ForbiddenError,
  InUseError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
  type FieldIssue,
} from '../errors.ts';
import { builder, encodeGlobalID } from './builder.ts';

/** The expected failures of mutations, as result-union members sharing `interface Error`. */

/** The GraphQL `interface Error { message, code }` of the error types in every mutation's result union. */
export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'An expected failure: nothing was written.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'For people; may change.' }),
    code: t.exposeString('code', {
      description: 'For programs: VALIDATION_FAILED, NOT_FOUND, DUPLICATE_URL, VERSION_CONFLICT, IN_USE or FORBIDDEN.',
    }),
  }),
});

/** One invalid input field (FieldIssue) as GraphQL shows it: in ValidationError.fields and SavedSearch.refusals. */
export const FieldError = builder.objectRef<FieldIssue>('FieldError').implement({
  description: 'One invalid input field.',
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Path in the arguments, e.g. ["input", "authors", "2", "name"].' }),
    code: t.exposeString('code', {
      description:
        'REQUIRED, TOO_LONG, TOO_MANY, OUT_OF_RANGE, IN_FUTURE, INVALID_URL, INVALID_REF, INVALID_NAME, INVALID_SLUG, INVALID_CHARACTER, NOT_FOUND, DUPLICATE, TAKEN, CONFLICT, INVALID_CHANGE, IS_TARGET, NOT_A_MEMBER, NOTHING_TO_UPDATE or LAST_ADMIN.',
    }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input has invalid fields; all of them are listed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({
    fields: t.field({ type: [FieldError], resolve: (error) => error.fields }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    id: t.id({ resolve: (error) => encodeGlobalID(error.typename, error.id) }),
  }),
});

builder.objectType(DuplicateUrlError, {
  name: 'DuplicateUrlError',
  description: 'Another article has a URL that normalizes to the same link.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof DuplicateUrlError,
  fields: (t) => ({
    existingId: t.id({ resolve: (error) => encodeGlobalID('Article', error.existingId) }),
  }),
});

builder.objectType(ArticleInTrashError, {
  name: 'ArticleInTrashError',
  description:
    'The article with this URL is in the trash: restore it (restoreArticle), or purge it (purgeArticle) to file the link anew.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ArticleInTrashError,
  fields: (t) => ({
    trashedId: t.id({
      description: 'The trashed article (restoreArticle and purgeArticle take this id).',
      resolve: (error) => encodeGlobalID('Article', error.trashedId),
    }),
  }),
});

builder.objectType(VersionConflictError, {
  name: 'VersionConflictError',
  description: 'The article or story changed since the version you read: read it again and reapply your change.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof VersionConflictError,
  fields: (t) => ({
    currentVersion: t.exposeInt('currentVersion'),
  }),
});

builder.objectType(InUseError, {
  name: 'InUseError',
  description: 'Articles still use this author or topic: merge it into another instead.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InUseError,
  fields: (t) => ({
    articleCount: t.exposeInt('articleCount'),
  }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'The API key (or its absence) does not allow this.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ForbiddenError,
  fields: (t) => ({
    requiredRole: t.exposeString('requiredRole'),
  }),
});
