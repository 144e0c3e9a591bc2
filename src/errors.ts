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
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class UserInputError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
    this.name = 'UserInputError';
  }
}
