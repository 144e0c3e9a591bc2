import { ValidationError, type FieldIssue } from '../errors.ts';

/**
 * Collects every invalid field of one input (with its path) so a client learns all of them at
 * once, then throws a single ValidationError.
 */
export class Issues {
  readonly list: FieldIssue[] = [];

  add(path: readonly (string | number)[], code: string, message: string): void {
    this.list.push({ path: path.map(String), code, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  throwIfAny(): void {
    if (this.list.length) throw new ValidationError(this.list);
  }
}

export interface TextRule {
  min?: number;
  max: number;
  /** Collapse runs of whitespace to one space (names). Leading and trailing space is always trimmed. */
  collapse?: boolean;
}

/** A trimmed (optionally collapsed) string within its bounds, or undefined after recording the issue. */
export function checkText(
  issues: Issues,
  path: readonly (string | number)[],
  value: string,
  rule: TextRule,
): string | undefined {
  const cleaned = rule.collapse ? value.replace(/\s+/g, ' ').trim() : value.trim();
  const min = rule.min ?? 0;
  if (cleaned.length < min) {
    issues.add(path, 'REQUIRED', min === 1 ? 'Must not be empty' : `Must be at least ${min} characters`);
    return undefined;
  }
  if (cleaned.length > rule.max) {
    issues.add(path, 'TOO_LONG', `Must be at most ${rule.max} characters (got ${cleaned.length})`);
    return undefined;
  }
  return cleaned;
}

/** Names of authors and topics: 1-200 characters after trimming, whitespace collapsed. */
export function checkName(issues: Issues, path: readonly (string | number)[], value: string): string | undefined {
  return checkText(issues, path, value, { min: 1, max: 200, collapse: true });
}

/** Present-but-null is refused for fields that cannot be empty. */
export function checkNotNull(issues: Issues, path: readonly (string | number)[], value: unknown): boolean {
  if (value === null) {
    issues.add(path, 'REQUIRED', 'Cannot be null');
    return false;
  }
  return value !== undefined;
}
