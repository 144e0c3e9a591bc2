import { ValidationError, type FieldIssue } from '../../errors.ts';
import { characterProblem, codePoints, hasControl, isBlank, withoutInvisible } from '../../input/text.ts';

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

/** Bounds and clean-up for checkText; `min` (default 0) and `max` count characters (code points). */
export interface TextRule {
  min?: number;
  max: number;
  /** Collapse runs of whitespace to one space (names). Leading and trailing space is always trimmed. */
  collapse?: boolean;
  /** A label people read (title, source, name): invisible format characters are dropped. */
  label?: boolean;
}

/**
 * A trimmed (optionally collapsed) string within its bounds, in Unicode Normalization Form C, or
 * undefined after recording the issue. Lengths count characters (code points), not UTF-16 units.
 * A value with nothing visible in it (spaces, zero-width or direction marks only) counts as
 * empty. INVALID_CHARACTER for a NUL or a lone surrogate (the boundary refuses them first; this
 * keeps the rule for callers other than the API).
 */
export function checkText(
  issues: Issues,
  path: readonly (string | number)[],
  value: string,
  rule: TextRule,
): string | undefined {
  const problem =
    characterProblem(value) ??
    (hasControl(value)
      ? 'contains a control character (such as a terminal escape), which text does not need'
      : undefined);
  if (problem) {
    issues.add(path, 'INVALID_CHARACTER', problem);
    return undefined;
  }
  let normalized = value.normalize('NFC');
  if (rule.label) normalized = withoutInvisible(normalized);
  let cleaned = rule.collapse ? normalized.replace(/\s+/g, ' ').trim() : normalized.trim();
  if (isBlank(cleaned)) cleaned = '';
  const min = rule.min ?? 0;
  const length = codePoints(cleaned);
  if (length < min) {
    issues.add(path, 'REQUIRED', min === 1 ? 'Must contain a visible character' : `Must be at least ${min} characters`);
    return undefined;
  }
  if (length > rule.max) {
    issues.add(path, 'TOO_LONG', `Must be at most ${rule.max} characters (got ${length})`);
    return undefined;
  }
  return cleaned;
}

/**
 * Names of authors and topics: 1-200 characters after trimming, whitespace collapsed, NFC,
 * invisible format characters dropped, and at least one visible character (so that every name
 * has a non-empty name key).
 */
export function checkName(issues: Issues, path: readonly (string | number)[], value: string): string | undefined {
  return checkText(issues, path, value, { min: 1, max: 200, collapse: true, label: true });
}

/** Present-but-null is refused for fields that cannot be empty. */
export function checkNotNull(issues: Issues, path: readonly (string | number)[], value: unknown): boolean {
  if (value === null) {
    issues.add(path, 'REQUIRED', 'Cannot be null');
    return false;
  }
  return value !== undefined;
}

/** The `input` of a merge: the rows merged away (decoded global IDs) and the one that remains. */
export interface MergeIds {
  sourceIds: readonly { id: string | number }[];
  targetId: { id: string | number };
}

/**
 * Checks a merge's ids into `issues`: 1 to `max` sources (REQUIRED, TOO_MANY), none the target
 * (IS_TARGET), none twice (DUPLICATE). Returns the distinct sources, without the target, and the target.
 */
export function checkMergeIds(issues: Issues, input: MergeIds, max: number): { sources: number[]; target: number } {
  const sources = input.sourceIds.map((ref) => Number(ref.id));
  const target = Number(input.targetId.id);
  if (sources.length === 0) issues.add(['input', 'sourceIds'], 'REQUIRED', 'Name at least one source');
  if (sources.length > max) issues.add(['input', 'sourceIds'], 'TOO_MANY', `At most ${max} sources`);
  const seen = new Set<number>();
  sources.forEach((id, index) => {
    if (id === target) issues.add(['input', 'sourceIds', index], 'IS_TARGET', 'The target cannot also be a source');
    else if (seen.has(id)) issues.add(['input', 'sourceIds', index], 'DUPLICATE', 'Listed twice');
    seen.add(id);
  });
  return { sources: [...seen].filter((id) => id !== target), target };
}

/** An `expectedVersion` (optimistic concurrency): a version a reader saw, 1 or more; OUT_OF_RANGE otherwise. */
export function checkExpectedVersion(issues: Issues, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    issues.add(['input', 'expectedVersion'], 'OUT_OF_RANGE', 'Must be a version you read (1 or more)');
}
