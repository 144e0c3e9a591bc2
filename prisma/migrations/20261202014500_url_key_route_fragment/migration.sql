-- A link's key (src/resolvers/articles/urls.ts normalizeUrl) now keeps a fragment that routes a
-- single-page site, a hash-bang (`#!/story/1`) or a hash route (`#/story/1`), normalized as a path
-- and query are (percent-encodings, no trailing slash, no tracking parameter) and not empty, so
-- two stories of one such site are two links. Keys filed before dropped every fragment: they get
-- their link's route back, in the live articles and in the trash (whose link is in its saved row);
-- a key whose new form another article already has, or would get from this rewrite too, or that
-- would be longer than 2,048 characters, is left as it was (the unique index would refuse it, or a
-- btree entry could not hold it).

-- normalizePercent then encodeDisallowed: `%XX` of a character `decoded` matches decoded, any other
-- with upper-case hex; a % that starts no encoding, and what RFC 3986 does not allow raw, encoded
CREATE FUNCTION "newsgraph_tmp_normal"(part text, decoded text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  normal text := '';
  i int := 1;
  c text;
  code int;
BEGIN
  WHILE i <= length(part) LOOP
    c := substr(part, i, 1);
    IF c = '%' AND substr(part, i + 1, 2) ~ '^[0-9A-Fa-f]{2}$' THEN
      code := ('x' || substr(part, i + 1, 2))::bit(8)::int;
      -- never a NUL: text cannot hold one
      IF code BETWEEN 1 AND 127 AND chr(code) ~ decoded THEN
        normal := normal || chr(code);
      ELSE
        normal := normal || '%' || upper(substr(part, i + 1, 2));
      END IF;
      i := i + 3;
      CONTINUE;
    END IF;
    IF c ~ '^[A-Za-z0-9._~!$&''()*+,;=:@/?-]$' THEN
      normal := normal || c;
    ELSE
      normal := normal || regexp_replace(upper(encode(convert_to(c, 'UTF8'), 'hex')), '(..)', '%\1', 'g');
    END IF;
    i := i + 1;
  END LOOP;
  RETURN normal;
END
$$;

-- routeFragment: '#' and the route, or '' when the fragment routes nothing
CREATE FUNCTION "newsgraph_tmp_route"(fragment text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  cut int := strpos(fragment, '?');
  path text;
  query text := '';
BEGIN
  path := regexp_replace(
    "newsgraph_tmp_normal"(CASE WHEN cut = 0 THEN fragment ELSE substr(fragment, 1, cut - 1) END,
      '^[A-Za-z0-9._~!$&''()*+,;=:@-]$'),
    '/+$', '');
  IF path !~ '^[!/]' THEN
    RETURN '';
  END IF;
  IF cut > 0 THEN
    query := array_to_string(ARRAY(
      SELECT "newsgraph_tmp_normal"(p.part, '^[A-Za-z0-9._~!$''()*,:@/?-]$')
      FROM unnest(string_to_array(substr(fragment, cut + 1), '&')) WITH ORDINALITY AS p(part, n)
      WHERE p.part <> ''
        AND split_part("newsgraph_tmp_normal"(p.part, '^[A-Za-z0-9._~-]$'), '=', 1) !~* '^(utm_[a-z0-9_]*|fbclid|gclid|gclsrc|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|twclid|_ga|_gl|_hsenc|_hsmi|mkt_tok|ref_src|cmpid|ocid|s_cid)$'
      ORDER BY p.n), '&');
  END IF;
  IF regexp_replace(path, '^[!/]+', '') = '' AND query = '' THEN
    RETURN '';
  END IF;
  RETURN '#' || path || CASE WHEN query <> '' THEN '?' || query ELSE '' END;
END
$$;

-- One statement, so that both tables are judged as they were before it: every key that changes,
-- and how many take each new form; a key moves only when no other article has or takes its new form.
WITH "moves" AS (
  SELECT m.*, count(*) OVER (PARTITION BY m."newKey") AS "sharing"
  FROM (
    SELECT 'live' AS "place", "id", "urlKey" || "newsgraph_tmp_route"(substr("url", strpos("url", '#') + 1)) AS "newKey",
      "urlKey" AS "oldKey"
    FROM "Article" WHERE strpos("url", '#') > 0 AND strpos("urlKey", '#') = 0
    UNION ALL
    SELECT 'trash', "id", "urlKey" || "newsgraph_tmp_route"(substr("row"->>'url', strpos("row"->>'url', '#') + 1)),
      "urlKey"
    FROM "TrashedArticle" WHERE strpos("row"->>'url', '#') > 0 AND strpos("urlKey", '#') = 0
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

DROP FUNCTION "newsgraph_tmp_route"(text);

DROP FUNCTION "newsgraph_tmp_normal"(text, text);
