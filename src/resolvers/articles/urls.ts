/**
 * The normalized form of an article link, its identity: the same story filed as
 * `HTTPS://Example.com/a/?utm_source=x#top` and `https://example.com/a` is one article.
 * Lower-case scheme and host (and no default port, no trailing dot), no fragment but a route
 * (`#!/story/1`, `#/story/1`: routeFragment), no tracking parameters, no trailing slash,
 * percent-encodings in their normal form (normalizePercent: what a path or query holds raw is
 * decoded), characters RFC 3986 does not allow raw percent-encoded (encodeDisallowed); the rest
 * of the path and query keep their spelling and order.
 */

const TRACKING_PARAMETER =
  /^(utm_[a-z0-9_]*|fbclid|gclid|gclsrc|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|twclid|_ga|_gl|_hsenc|_hsmi|mkt_tok|ref_src|cmpid|ocid|s_cid)$/i;

/** Spaces, control characters and invisible format characters: a browser would drop or encode them. */
const UNSAFE_CHARACTERS = /[\s\p{Cc}\p{Cf}\u2028\u2029]/u;

/**
 * A link a client files, checked and written the way a browser would read it. Refused (with the
 * reason) unless it is an absolute http(s) URL with a host (no empty label) and a usable port, without spaces,
 * control or invisible characters (a raw newline could break a header or a log line),
 * backslashes or credentials (`user:password@`, which would be served to everyone). Otherwise
 * `href` is its WHATWG URL serialization: the form a browser goes to, whatever it was given
 * (`https:example.com/a` is `https://example.com/a`), with an internationalized host in punycode
 * (so a Cyrillic look-alike of a Latin name cannot pass for it) and unsafe characters in the
 * path and query percent-encoded.
 */
export function checkUrl(raw: string): { href: string } | { problem: string } {
  if (UNSAFE_CHARACTERS.test(raw)) return { problem: 'Must not contain spaces, control or invisible characters' };
  if (raw.includes('\\')) return { problem: 'Must not contain backslashes' };
  let url: URL;
  try {
    url = new URL(raw.normalize('NFC'));
  } catch {
    return { problem: 'Must be an absolute http(s) URL' };
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    return { problem: 'Must be an absolute http(s) URL' };
  }
  // an empty label (`example..com`, `.example.com`, `example.com..`) names no host (RFC 1035 2.3.1);
  // one trailing dot is the DNS root spelled out, and normalizeUrl drops it
  if (/^\.|\.\./.test(url.hostname)) return { problem: 'Must name a host without empty labels (..)' };
  if (url.username !== '' || url.password !== '' || /^[a-z]+:\/*[^/?#]*@/i.test(raw)) {
    return { problem: 'Must not contain credentials (user:password@)' };
  }
  if (url.port === '0') return { problem: 'Must not name port 0' };
  return { href: url.href };
}

function parameterName(part: string): string {
  const name = part.split('=')[0] ?? '';
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Characters whose percent-encoding a path decodes in a key: the unreserved ones (letters,
 * digits, `-._~`; RFC 3986 section 6.2.2.2) and, beyond RFC 3986's syntax-based normalization,
 * the other characters a path segment holds raw (`pchar`: the sub-delims `!$&'()*+,;=`, `:` and
 * `@`; section 6.2.4 leaves such protocol-based normalization to the application). Web servers
 * decode a path before routing it, so `/wiki/Foo_(bar)` and `/wiki/Foo_%28bar%29` are one page.
 * `%2F` stays encoded: it is not a segment boundary.
 */
const PATH_DECODED = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;
/**
 * In a query, the unreserved characters and those that separate nothing in any common query
 * syntax (`!$'()*,:@/?`); `&`, `=`, `;` (parameter separators) and `+` (a space in HTML forms)
 * stay encoded, so `?q=a%26b` (one parameter) is not `?q=a&b` (two).
 */
const QUERY_DECODED = /[A-Za-z0-9\-._~!$'()*,:@/?]/;

/**
 * Percent-encodings in their normal form: an encoded character of `decoded` (PATH_DECODED or
 * QUERY_DECODED) decoded, every other one with upper-case hex, so `/%7Ea%2fb` and `/~a%2Fb` are
 * one link; a `%` that starts no encoding is encoded (`%25`).
 */
function normalizePercent(text: string, decoded: RegExp): string {
  return text.replace(/%(?:([0-9A-Fa-f]{2})|)/g, (_, hex: string | undefined) => {
    if (hex === undefined) return '%25';
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return decoded.test(character) ? character : `%${hex.toUpperCase()}`;
  });
}

/**
 * Characters RFC 3986 (section 3.3 `pchar`, 3.4 `query`) does not allow raw in a path or query
 * that the WHATWG URL parser leaves raw (`[`, `]`, `^`, `|`, `{`, `}`, `` ` ``, `\` in a query),
 * percent-encoded as they are sent, so `/a|b` and `/a%7Cb` are one link. Every other character
 * is already encoded by the parser (non-ASCII as UTF-8, spaces, quotes, `<`, `>`).
 */
function encodeDisallowed(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/g, (character) =>
    character.charCodeAt(0) < 0x80
      ? `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
      : encodeURIComponent(character),
  );
}

/**
 * The query parts of a link (or of a route) that are part of its identity, in normal form: no
 * empty part, no tracking parameter.
 */
function keptQuery(query: string): string {
  return query
    .split('&')
    .filter((part) => part !== '' && !TRACKING_PARAMETER.test(parameterName(part)))
    .map((part) => encodeDisallowed(normalizePercent(part, QUERY_DECODED)))
    .join('&');
}

/**
 * The fragment of a link when it routes a single-page site, else '': a hash-bang (`#!...`,
 * Google's AJAX crawling scheme, where `#!x` stood for `?_escaped_fragment_=x`) or a hash route
 * (`#/...`), judged after its percent-encodings are normalized (`#%21/x` is `#!/x`), normalized
 * as a link's path and query are (no trailing slash, no tracking parameter), and not empty
 * (`#!/`, `#/?utm_source=x`). Any other fragment (`#top`, `#comments`) points into the same page
 * and is no part of the link's identity.
 */
function routeFragment(hash: string): string {
  const fragment = hash.slice(1);
  const cut = fragment.indexOf('?');
  const path = encodeDisallowed(normalizePercent(cut < 0 ? fragment : fragment.slice(0, cut), PATH_DECODED)).replace(
    /\/+$/,
    '',
  );
  if (!/^[!/]/.test(path)) return '';
  const query = cut < 0 ? '' : keptQuery(fragment.slice(cut + 1));
  if (path.replace(/^[!/]+/, '') === '' && query === '') return '';
  return `#${path}${query ? `?${query}` : ''}`;
}

/** Throws TypeError for anything that is not an absolute http(s) URL. */
export function normalizeUrl(raw: string): string {
  const url = new URL(raw.trim().normalize('NFC'));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('not an http(s) URL');
  const query = keptQuery(url.search.slice(1));
  const path = encodeDisallowed(normalizePercent(url.pathname, PATH_DECODED)).replace(/\/+$/, '');
  // `example.com.` (the DNS root spelled out) is the host `example.com`
  const host = `${url.hostname.replace(/([^.])\.$/, '$1')}${url.port ? `:${url.port}` : ''}`;
  return `${url.protocol}//${host}${path}${query ? `?${query}` : ''}${routeFragment(url.hash)}`;
}
