-- A link's key (src/resolvers/articles/urls.ts normalizeUrl) now writes percent-encodings in their
-- normal form (RFC 3986 section 6.2.2): an encoded unreserved character (letters, digits, -._~)
-- decoded, every other one with upper-case hex, so `/%7Ea%2fb` and `/~a%2Fb` are one link. Keys
-- filed before are rewritten the same way, in the live articles and in the trash; a key whose new
-- form another article already has is left as it was (both were filed as different links: merging
-- them is an editor's call, and the unique index would refuse it).
CREATE FUNCTION "newsgraph_tmp_percent"(key text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  done text := '';
  rest text := key;
  at int;
  hex text;
  code int;
BEGIN
  LOOP
    at := position('%' IN rest);
    EXIT WHEN at = 0;
    done := done || substr(rest, 1, at - 1);
    hex := substr(rest, at + 1, 2);
    IF hex ~ '^[0-9A-Fa-f]{2}$' THEN
      code := ('x' || hex)::bit(8)::int;
      IF chr(code) ~ '^[A-Za-z0-9._~-]$' THEN
        done := done || chr(code);
      ELSE
        done := done || '%' || upper(hex);
      END IF;
      rest := substr(rest, at + 3);
    ELSE
      done := done || '%';
      rest := substr(rest, at + 1);
    END IF;
  END LOOP;
  RETURN done || rest;
END
$$;

UPDATE "Article" a SET "urlKey" = "newsgraph_tmp_percent"(a."urlKey")
WHERE a."urlKey" LIKE '%\%%' AND "newsgraph_tmp_percent"(a."urlKey") <> a."urlKey"
  AND NOT EXISTS (SELECT FROM "Article" b WHERE b."urlKey" = "newsgraph_tmp_percent"(a."urlKey"))
  AND NOT EXISTS (SELECT FROM "TrashedArticle" t WHERE t."urlKey" = "newsgraph_tmp_percent"(a."urlKey"));

UPDATE "TrashedArticle" a SET "urlKey" = "newsgraph_tmp_percent"(a."urlKey")
WHERE a."urlKey" LIKE '%\%%' AND "newsgraph_tmp_percent"(a."urlKey") <> a."urlKey"
  AND NOT EXISTS (SELECT FROM "Article" b WHERE b."urlKey" = "newsgraph_tmp_percent"(a."urlKey"))
  AND NOT EXISTS (SELECT FROM "TrashedArticle" t WHERE t."urlKey" = "newsgraph_tmp_percent"(a."urlKey"));

DROP FUNCTION "newsgraph_tmp_percent"(text);
