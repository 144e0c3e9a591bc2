/**
 * What text a client may send, and how it is measured. Shared by the boundary (every argument)
 * and the domain checks (each field's own limits).
 */

/** A NUL (U+0000) or a lone surrogate (half a UTF-16 pair: not a character at all). */
const UNSTORABLE = /\u0000|\p{Cs}/u;

/** Why `value` cannot be taken as text, or undefined when it can. */
export function characterProblem(value: string): string | undefined {
  const bad = UNSTORABLE.exec(value);
  if (!bad) return undefined;
  return bad[0] === '\u0000'
    ? 'contains a NUL character (U+0000), which text cannot hold'
    : 'contains a lone surrogate (half of a UTF-16 pair), which is not a character';
}

/** Length in characters (Unicode code points), as a person counts them: an emoji is one, not two. */
export function codePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // a high surrogate followed by a low one is one code point
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/**
 * Something a person can see: a letter, digit, punctuation mark or symbol that is not a blank
 * (U+2800 BRAILLE PATTERN BLANK looks like a space) or default-ignorable (the Hangul fillers).
 * Spaces, controls, format characters and combining marks alone are not.
 */
const VISIBLE = /(?![\u2800\p{Default_Ignorable_Code_Point}])[\p{L}\p{N}\p{P}\p{S}]/u;

/** Controls other than tab, line feed and carriage return (C0, DEL, C1): terminal escapes and the like. */
const CONTROL = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** True when `value` holds a control character other than tab and line breaks. */
export function hasControl(value: string): boolean {
  return CONTROL.test(value);
}

/** True when `value` has nothing a person can see (empty, spaces, zero-width or direction marks...). */
export function isBlank(value: string): boolean {
  return !VISIBLE.test(value);
}

/**
 * Default-ignorable code points (zero-width space, soft hyphen, word joiner, BOM, direction
 * marks and embeddings...) except those that change how a word is written or drawn: ZWNJ and
 * ZWJ (Persian, Indic scripts, emoji sequences), variation selectors and tag characters (emoji)
 * and the combining grapheme joiner.
 */
const INVISIBLE =
  /(?![\u200C\u200D\u034F\uFE00-\uFE0F\u{E0020}-\u{E007F}\u{E0100}-\u{E01EF}])\p{Default_Ignorable_Code_Point}/gu;

/** `value` without invisible format characters (see INVISIBLE). */
export function withoutInvisible(value: string): string {
  return value.replace(INVISIBLE, '');
}

/** A string in the arguments that cannot be taken as text (see characterProblem), and where it is. */
export interface TextProblem {
  /** Where in the arguments, e.g. ['input', 'authors', '2', 'name']. */
  path: string[];
  message: string;
}

/** Thrown by textProblems when its budget of values runs out. */
export class InputTooLarge extends Error {}

/**
 * Every string in `value` (arguments as coerced: objects, arrays, strings, numbers...) that
 * cannot be taken as text, with its path under `root`. Iterative, so no input is too deep for it.
 * Each value walked (object, list, string, number...) takes one from `budget.values`; past it,
 * throws InputTooLarge.
 */
export function textProblems(
  value: unknown,
  root: readonly string[] = [],
  budget: { values: number } = { values: Infinity },
): TextProblem[] {
  const problems: TextProblem[] = [];
  const stack: [unknown, string[]][] = [[value, [...root]]];
  while (stack.length) {
    const [item, path] = stack.pop()!;
    if (--budget.values < 0) throw new InputTooLarge();
    if (typeof item === 'string') {
      const problem = characterProblem(item);
      if (problem) problems.push({ path, message: problem });
    } else if (item !== null && typeof item === 'object' && !(item instanceof Date)) {
      // children pushed last-first, so that problems come out in the order of the input
      const children = Array.isArray(item)
        ? item.map((child, index) => [String(index), child] as const)
        : Object.entries(item);
      for (const [key, child] of children.reverse()) stack.push([child, [...path, key]]);
    }
  }
  return problems;
}

/**
 * How deeply `value` nests objects and arrays (a string or number: 0), and how many values it
 * holds (every object, list and scalar, itself included). Iterative.
 */
export function inputShape(value: unknown): { depth: number; values: number } {
  let deepest = 0;
  let values = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    values += 1;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return { depth: deepest, values };
}
