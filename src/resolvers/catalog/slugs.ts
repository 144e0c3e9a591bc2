/** The longest slug, in characters (code points): a slug given by hand or made from a name. */
export const SLUG_MAX = 200;

/** `slug` cut to `max` characters (code points), without a hyphen left at its end. */
export function cutSlug(slug: string, max = SLUG_MAX): string {
  const points = [...slug];
  return points.length <= max ? slug : points.slice(0, max).join('').replace(/-+$/, '');
}

/**
 * The URL form of a name: lower case, letters and digits of any script in words joined by single
 * hyphens. Latin letters lose their accents ("Ångström" gives `angstrom`, "Straße" `strasse`);
 * other scripts keep their letters, accents and vowel signs included, since dropping them would
 * change the words ("日本語" gives `日本語`, "Россия" `россия`, "हिन्दी" `हिन्दी`). `&` reads "and".
 * At most SLUG_MAX characters (a name whose letters expand, such as "ﷺ", is cut). Empty when
 * the name has no letter or digit at all.
 */
export function slugify(name: string): string {
  return cutSlug(
    name
      .normalize('NFKC')
      // full lower-casing, as far as JavaScript goes: ß -> SS -> ss, İ -> i̇
      .toUpperCase()
      .toLowerCase()
      .normalize('NFKD')
      .replace(/(\p{Script=Latin})\p{M}+/gu, '$1')
      .normalize('NFC')
      .replace(/&/g, ' and ')
      .replace(/[^\p{L}\p{M}\p{N}]+/gu, '-')
      // a word starts with a letter or digit, not a mark left over from something removed
      .replace(/(^|-)\p{M}+/gu, '$1')
      .replace(/-+/g, '-')
      .replace(/^-+|-+$/g, ''),
  );
}

/** A slug a client gives is valid when it is already in this form (its own slug). */
export function isSlug(value: string): boolean {
  return value !== '' && slugify(value) === value;
}
