-- A link's key (src/resolvers/articles/urls.ts normalizeUrl) no longer keeps a trailing dot on its
-- host: `https://example.com./a` is `https://example.com/a` (the DNS root spelled out). Keys filed
-- before are rewritten the same way, in the live articles and in the trash; a key whose new form
-- another article already has is left as it was (both were filed as different links: merging
-- them is an editor's call, and the unique index would refuse it).
CREATE FUNCTION "newsgraph_tmp_root_dot"(key text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(key, '^(https?://[^/?]*[^./?:])\.(:[0-9]+)?(/|\?|$)', '\1\2\3')
$$;

UPDATE "Article" a SET "urlKey" = "newsgraph_tmp_root_dot"(a."urlKey")
WHERE "newsgraph_tmp_root_dot"(a."urlKey") <> a."urlKey"
  AND NOT EXISTS (SELECT FROM "Article" b WHERE b."urlKey" = "newsgraph_tmp_root_dot"(a."urlKey"))
  AND NOT EXISTS (SELECT FROM "TrashedArticle" t WHERE t."urlKey" = "newsgraph_tmp_root_dot"(a."urlKey"));

UPDATE "TrashedArticle" a SET "urlKey" = "newsgraph_tmp_root_dot"(a."urlKey")
WHERE "newsgraph_tmp_root_dot"(a."urlKey") <> a."urlKey"
  AND NOT EXISTS (SELECT FROM "Article" b WHERE b."urlKey" = "newsgraph_tmp_root_dot"(a."urlKey"))
  AND NOT EXISTS (SELECT FROM "TrashedArticle" t WHERE t."urlKey" = "newsgraph_tmp_root_dot"(a."urlKey"));

DROP FUNCTION "newsgraph_tmp_root_dot"(text);
