-- A link's key (src/resolvers/articles/urls.ts normalizeUrl) now percent-encodes the characters
-- RFC 3986 does not allow raw in a path or query and the WHATWG URL parser leaves raw
-- ([ ] ^ | { } ` and \, and a % that starts no encoding), so `/a|b` and `/a%7Cb`, `?q=100%` and
-- `?q=100%25` are one link. Keys filed before are rewritten the same way, after the host (an IPv6
-- host keeps its brackets), in the live articles and in the trash; a key whose new form another
-- article already has, or would get from this rewrite too, is left as it was (they were filed as
-- different links: merging them is an editor's call, and the unique index would refuse it), and so
-- is a key whose new form is longer than 2,048 characters (the API's bound on a key: a longer one
-- could outgrow a btree entry, 2,704 bytes, and stop the migration).
CREATE FUNCTION "newsgraph_tmp_encode"(key text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(p[1] || replace(replace(replace(replace(replace(replace(replace(replace(
           regexp_replace(p[2], '%(?![0-9A-Fa-f]{2})', '%25', 'g'),
           '[', '%5B'), ']', '%5D'), '^', '%5E'), '|', '%7C'), '{', '%7B'), '}', '%7D'), '`', '%60'),
           '\', '%5C'), key)
  FROM (SELECT regexp_match(key, '^(https?://[^/?]*)(.*)$') AS p) m
$$;

-- One statement, so that both tables are judged as they were before it: every key that changes,
-- and how many take each new form; a key moves only when no other article has or takes its new form.
WITH "moves" AS (
  SELECT m.*, count(*) OVER (PARTITION BY m."newKey") AS "sharing"
  FROM (
    SELECT 'live' AS "place", "id", "newsgraph_tmp_encode"("urlKey") AS "newKey", "urlKey" AS "oldKey"
    FROM "Article" WHERE "urlKey" ~ '[][^|{}`\\]|%(?![0-9A-Fa-f]{2})'
    UNION ALL
    SELECT 'trash', "id", "newsgraph_tmp_encode"("urlKey"), "urlKey"
    FROM "TrashedArticle" WHERE "urlKey" ~ '[][^|{}`\\]|%(?![0-9A-Fa-f]{2})'
  ) m
  WHERE m."newKey" <> m."oldKey"
), "kept" AS (
  SELECT * FROM "moves" m
  WHERE m."sharing" = 1
    AND length(m."newKey") <= 2048
    AND NOT EXISTS (SELECT FROM "Article" b WHERE b."urlKey" = m."newKey")
    AND NOT EXISTS (SELECT FROM "TrashedArticle" t WHERE t."urlKey" = m."newKey")
), "live" AS (
  UPDATE "Article" a SET "urlKey" = k."newKey"
  FROM "kept" k WHERE k."place" = 'live' AND k."id" = a."id"
)
UPDATE "TrashedArticle" a SET "urlKey" = k."newKey"
FROM "kept" k WHERE k."place" = 'trash' AND k."id" = a."id";

DROP FUNCTION "newsgraph_tmp_encode"(text);
