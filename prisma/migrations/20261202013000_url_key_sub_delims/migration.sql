-- A link's key (src/resolvers/articles/urls.ts normalizeUrl) now decodes the percent-encodings of
-- the characters a path holds raw (the sub-delims ! $ & ' ( ) * + , ; =, and : @) and, in a query,
-- of those that separate nothing there (! $ ' ( ) * , : @ / ?), so `/wiki/Foo_(bar)` and
-- `/wiki/Foo_%28bar%29` are one link. Keys filed before are rewritten the same way, in the live
-- articles and in the trash; a key whose new form another article already has, or would get from
-- this rewrite too, is left as it was (they were filed as different links: merging them is an
-- editor's call, and the unique index would refuse it). A new form is never longer than the old.
CREATE FUNCTION "newsgraph_tmp_decode"(part text, codes text[]) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  code text;
BEGIN
  FOREACH code IN ARRAY codes LOOP
    part := replace(replace(part, '%' || code, chr(('x' || code)::bit(8)::int)), '%' || lower(code), chr(('x' || code)::bit(8)::int));
  END LOOP;
  RETURN part;
END
$$;

CREATE FUNCTION "newsgraph_tmp_key"(key text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(
    p[1]
      || "newsgraph_tmp_decode"(p[2], ARRAY['21', '24', '26', '27', '28', '29', '2A', '2B', '2C', '3B', '3D', '3A', '40'])
      || coalesce('?' || "newsgraph_tmp_decode"(substr(p[3], 2), ARRAY['21', '24', '27', '28', '29', '2A', '2C', '3A', '40', '2F', '3F']), ''),
    key)
  FROM (SELECT regexp_match(key, '^(https?://[^/?]*)([^?]*)(\?.*)?$') AS p) m
$$;

-- One statement, so that both tables are judged as they were before it: every key that changes,
-- and how many take each new form; a key moves only when no other article has or takes its new form.
WITH "moves" AS (
  SELECT m.*, count(*) OVER (PARTITION BY m."newKey") AS "sharing"
  FROM (
    SELECT 'live' AS "place", "id", "newsgraph_tmp_key"("urlKey") AS "newKey", "urlKey" AS "oldKey"
    FROM "Article" WHERE "urlKey" LIKE '%\%%'
    UNION ALL
    SELECT 'trash', "id", "newsgraph_tmp_key"("urlKey"), "urlKey"
    FROM "TrashedArticle" WHERE "urlKey" LIKE '%\%%'
  ) m
  WHERE m."newKey" <> m."oldKey"
), "kept" AS (
  SELECT * FROM "moves" m
  WHERE m."sharing" = 1
    AND NOT EXISTS (SELECT FROM "Article" b WHERE b."urlKey" = m."newKey")
    AND NOT EXISTS (SELECT FROM "TrashedArticle" t WHERE t."urlKey" = m."newKey")
), "live" AS (
  UPDATE "Article" a SET "urlKey" = k."newKey"
  FROM "kept" k WHERE k."place" = 'live' AND k."id" = a."id"
)
UPDATE "TrashedArticle" a SET "urlKey" = k."newKey"
FROM "kept" k WHERE k."place" = 'trash' AND k."id" = a."id";

DROP FUNCTION "newsgraph_tmp_key"(text);

DROP FUNCTION "newsgraph_tmp_decode"(text, text[]);
