/**
 * A caller's X-Request-Id, kept when it is short and plain (it ends up in logs and headers:
 * letters, digits, `_ . : -`, at most 64 characters); null otherwise, so the server makes one.
 */
export function plainRequestId(given: string | null | undefined): string | null {
  return given && /^[\w.:-]{1,64}$/.test(given) ? given : null;
}
