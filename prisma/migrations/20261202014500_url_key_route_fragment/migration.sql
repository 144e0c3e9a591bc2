-- A link's key (src/resolvers/articles/urls.ts normalizeUrl) now keeps a fragment that routes a
-- single-page site, a hash-bang (`#!/story/1`) or a hash route (`#/story/1`) whose route is not
-- empty, so two stories of one such site are two links. Keys filed before dropped every fragment:
-- they get their link's route back, in the path's normal form, in the live articles and in the
-- trash (whose link is in its saved row); a key whose new form another article already has, or
-- would get from this rewrite too, or that would be longer than 2,048 characters, is left as it
-- was (the unique index would refuse it, or a btree entry could not hold it).
CREATE FUNCTION "newsgraph_tmp_route"(fragment text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  normal text := '';
  i int := 1;
  c text;
  code int;
BEGIN
  WHILE i <= length(fragment) LOOP
    c := substr(fragment, i, 1);
    IF c = '%' AND substr(fragment, i + 1, 2) ~ '^[0-9A-Fa-f]{2}$' THEN
      code := ('x' || substr(fragment, i + 1, 2))::bit(8)::int;
      -- what a path holds raw is decoded (never a NUL: text cannot hold one)
      IF code BETWEEN 1 AND 127 AND chr(code) ~ '^[A-Za-z0-9._~!$&''()*+,;=:@-]$' THEN
        normal := normal || chr(code);
      ELSE
        normal := normal || '%' || upper(substr(fragment, i + 1, 2));
      END IF;
      i := i + 3;
      CONTINUE;
    END IF;
    IF c ~ '^[A-Za-z0-9._~!$&''()*+,;=:@/?-]$' THEN
      normal := normal || c;
    ELSE
      -- a % that starts no encoding, and what RFC 3986 does not allow raw: its UTF-8 bytes encoded
      normal := normal || regexp_replace(upper(encode(convert_to(c, 'UTF8'), 'hex')), '(..)', '%\1', 'g');
    END IF;
    i := i + 1;
  END LOOP;
  RETURN normal;
END
$$;

CREATE FUNCTION "newsgraph_tmp_keyed"(key text, link text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN f ~ '^[!/]' AND replace(substr(f, 2), '/', '') <> '' THEN key || '#' || "newsgraph_tmp_route"(f)
    ELSE key
  END
  FROM (SELECT substr(link, strpos(link, '#') + 1) AS f WHERE strpos(link, '#') > 0) m
$$;

-- One statement, so that both tables are judged as they were before it: every key that changes,
-- and how many take each new form; a key moves only when no other article has or takes its new form.
WITH "moves" AS (
  SELECT m.*, count(*) OVER (PARTITION BY m."newKey") AS "sharing"
  FROM (
    SELECT 'live' AS "place", "id", "newsgraph_tmp_keyed"("urlKey", "url") AS "newKey", "urlKey" AS "oldKey"
    FROM "Article" WHERE "url" ~ '#[!/]' AND "urlKey" NOT LIKE '%#%'
    UNION ALL
    SELECT 'trash', "id", "newsgraph_tmp_keyed"("urlKey", "row"->>'url'), "urlKey"
    FROM "TrashedArticle" WHERE "row"->>'url' ~ '#[!/]' AND "urlKey" NOT LIKE '%#%'
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

DROP FUNCTION "newsgraph_tmp_keyed"(text, text);

DROP FUNCTION "newsgraph_tmp_route"(text);
