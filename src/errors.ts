import { GraphQLError } from 'graphql';

/**
 * Errors a client caused and can fix. Each carries a machine-readable `extensions.code` that
 * survives Yoga's error masking; tests assert codes, never message text.
 */
export const ErrorCode = {
  /** A global ID that is malformed, or names a different type than the argument expects. */
  INVALID_ID: 'INVALID_ID',
  /** A cursor that is malformed, or was issued for a different ordering. */
  INVALID_CURSOR: 'INVALID_CURSOR',
  /** `first`/`last` outside 0..MAX_PAGE_SIZE, or both given. */
  INVALID_PAGE_SIZE: 'INVALID_PAGE_SIZE',
  /** Any other argument that is well-typed but not acceptable. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The answer would carry more article text than one response may (MAX_RESPONSE_TEXT). */
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
  /** The viewer's key lacks the role a field needs, or the viewer has no key. */
  FORBIDDEN: 'FORBIDDEN',
  /** An argument names a row that does not exist (where no typed result can say so: subscriptions). */
  NOT_FOUND: 'NOT_FOUND',
  /** Past a limit on what one client may hold open at once (subscriptions). */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * The database refused a value our checks let through (a data exception or one of its limits,
   * SQLSTATE class 22 or 54, or a CHECK constraint, 23514); a write that met it wrote nothing.
   * Logged as a server fault too.
   */
  STORE_REFUSED: 'STORE_REFUSED',
  /**
   * A saved search whose stored question today's rules refuse (they tightened after it was saved):
   * its list, feeds and subscriptions cannot run until an editor updates it. `refusals` lists what.
   */
  SAVED_SEARCH_OUTDATED: 'SAVED_SEARCH_OUTDATED',
} as const;
/** One of the ErrorCode values: the `extensions.code` of a UserInputError. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A bad argument, reported in the response's top-level `errors` (not a mutation result):
 * `extensions` holds `code` and any extra fields given, e.g. `argumentName`.
 */
export class UserInputError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
    this.name = 'UserInputError';
  }
}

/**
 * Expected failures of mutations. They are returned as members of each mutation's result union
 * (Pothos errors plugin), all implementing `interface Error { message, code }`.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
}

/** One invalid field of a mutation's input, as listed by ValidationError. */
export interface FieldIssue {
  /** Path of the field in the mutation's arguments, e.g. ['input', 'authors', '2', 'name']. */
  path: string[];
  /** Machine-readable reason: REQUIRED, TOO_LONG, TOO_MANY, OUT_OF_RANGE, INVALID_URL, ... */
  code: string;
  message: string;
}

/**
 * VALIDATION_FAILED: one or more invalid input fields, all listed in `fields`; the message counts
 * them and names their paths.
 */
export class ValidationError extends AppError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly fields: FieldIssue[]) {
    super(
      `${fields.length} invalid field${fields.length === 1 ? '' : 's'}: ${fields.map((f) => f.path.join('.')).join(', ')}`,
    );
    this.name = 'ValidationError';
  }
}

/** NOT_FOUND: no row of `typename` with this database id (never existed, or deleted meanwhile). */
export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly typename: string,
    readonly id: number,
  ) {
    super(`No ${typename} with that id`);
    this.name = 'NotFoundError';
  }
}

/**
 * DUPLICATE_URL: article `existingId` already has this URL after normalization
 * (resolvers/articles/urls.ts).
 */
export class DuplicateUrlError extends AppError {
  readonly code = 'DUPLICATE_URL';
  constructor(readonly existingId: number) {
    super('An article with this URL (after normalization) already exists');
    this.name = 'DuplicateUrlError';
  }
}

/**
 * ARTICLE_IN_TRASH: the URL (after normalization) is that of article `trashedId`, which is in the
 * trash: restore it (restoreArticle), or purge it (purgeArticle) to file the link anew.
 */
export class ArticleInTrashError extends AppError {
  readonly code = 'ARTICLE_IN_TRASH';
  constructor(readonly trashedId: number) {
    super('The article with this URL (after normalization) is in the trash: restore it, or purge it first');
    this.name = 'ArticleInTrashError';
  }
}

/**
 * VERSION_CONFLICT: the article (or story, `typename`) is no longer at the `expectedVersion` the
 * write named (optimistic concurrency); `currentVersion` is where it is now. Read it again, then retry.
 */
export class VersionConflictError extends AppError {
  readonly code = 'VERSION_CONFLICT';
  constructor(
    readonly articleId: number,
    readonly currentVersion: number,
    readonly typename: 'Article' | 'Story' | 'SavedSearch' = 'Article',
  ) {
    super(
      `The ${typename === 'SavedSearch' ? 'saved search' : typename.toLowerCase()} was changed since the version you read; it is now at version ${currentVersion}`,
    );
    this.name = 'VersionConflictError';
  }
}

/** IN_USE: the author or topic cannot be deleted while `articleCount` articles use it. */
export class InUseError extends AppError {
  readonly code = 'IN_USE';
  constructor(
    readonly typename: string,
    readonly articleCount: number,
  ) {
    super(`This ${typename} is still used by ${articleCount} article${articleCount === 1 ? '' : 's'}`);
    this.name = 'InUseError';
  }
}

/** FORBIDDEN: the request has no API key, or one without `requiredRole` (ADMIN implies EDITOR). */
export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
  constructor(readonly requiredRole: 'EDITOR' | 'ADMIN') {
    super(`This needs an API key with the ${requiredRole} role`);
    this.name = 'ForbiddenError';
  }
}
