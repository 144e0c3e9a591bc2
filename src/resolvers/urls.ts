/**
 * The normalized form of an article link, its identity: the same story filed as
 * `HTTPS://Example.com/a/?utm_source=x#top` and `https://example.com/a` is one article.
 * Lower-case scheme and host (and no default port), no fragment, no tracking parameters, no
 * trailing slash; the rest of the path and query keep their spelling and order.
 */

const TRACKING_PARAMETER =
  /^(utm_[a-z0-9_]*|fbclid|gclid|gclsrc|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|twclid|_ga|_gl|_hsenc|_hsmi|mkt_tok|ref_src|cmpid|ocid|s_cid)$/i;

export function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function parameterName(part: string): string {
  const name = part.split('=')[0] ?? '';
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/** Throws TypeError for anything that is not an absolute http(s) URL. */
export function normalizeUrl(raw: string): string {
  const url = new URL(raw.trim().normalize('NFC'));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('not an http(s) URL');
  const query = url.search
    .slice(1)
    .split('&')
    .filter((part) => part !== '' && !TRACKING_PARAMETER.test(parameterName(part)))
    .join('&');
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}${query ? `?${query}` : ''}`;
}
