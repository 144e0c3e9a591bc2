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
  /**
   * A label people read (title, source, name): invisible format characters are dropped, and a
   * value with nothing visible left is REQUIRED.
   */
  label?: boolean;
}

/** Something a person can see: not only spaces, invisible format characters or controls. */
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}]/u;

/**
 * Default-ignorable code points (zero-width space, soft hyphen, word joiner, BOM, direction
 * marks and embeddings...) except those that change how a word is written or drawn: ZWNJ and
 * ZWJ (Persian, Indic scripts, emoji sequences), variation selectors and tag characters (emoji)
 * and the combining grapheme joiner.
 */
const INVISIBLE =
  /(?![\u200C\u200D\u034F\uFE00-\uFE0F\u{E0020}-\u{E007F}\u{E0100}-\u{E01EF}])\p{Default_Ignorable_Code_Point}/gu;

/**
 * A trimmed (optionally collapsed) string within its bounds, in Unicode Normalization Form C, or
 * undefined after recording the issue.
 */
export function checkText(
  issues: Issues,
  path: readonly (string | number)[],
  value: string,
  rule: TextRule,
): string | undefined {
  let normalized = value.normalize('NFC');
  if (rule.label) normalized = normalized.replace(INVISIBLE, '');
  const cleaned = rule.collapse ? normalized.replace(/\s+/g, ' ').trim() : normalized.trim();
  const min = rule.min ?? 0;
  if (cleaned.length < min) {
    issues.add(path, 'REQUIRED', min === 1 ? 'Must not be empty' : `Must be at least ${min} characters`);
    return undefined;
  }
  if (cleaned.length > rule.max) {
    issues.add(path, 'TOO_LONG', `Must be at most ${rule.max} characters (got ${cleaned.length})`);
    return undefined;
  }
  if (rule.label && !VISIBLE.test(cleaned)) {
    issues.add(path, 'REQUIRED', 'Must contain a visible character');
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
