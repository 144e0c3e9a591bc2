-- A link's key (src/resolvers/articles/urls.ts normalizeUrl) now writes percent-encodings in their
-- normal form (RFC 3986 section 6.2.2): an encoded unreserved character (letters, digits, -._~)
-- decoded, every other one with upper-case hex, so `/%7Ea%2fb` and `/~a%2Fb` are one link. Keys
-- filed before are rewritten the same way, in the live articles and in the trash; a key whose new
-- form another article already has, or would get from this rewrite too (`/a%7e` and `/a%7E`), is
-- left as it was (they were filed as different links: merging them is an editor's call, and the
-- unique index would refuse it). Any byte may be encoded (`%00` too): only the codes of unreserved
-- characters are ever decoded.
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
      -- unreserved: - . 0-9 A-Z _ a-z ~ (ASCII, so chr() never sees 0 or a byte past 127)
      IF code IN (45, 46, 95, 126) OR code BETWEEN 48 AND 57 OR code BETWEEN 65 AND 90 OR code BETWEEN 97 AND 122 THEN
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

-- One statement, so that both tables are judged as they were before it: every key that changes,
-- and how many take each new form; a key moves only when no other article has or takes its new form.
WITH "moves" AS (
  SELECT m.*, count(*) OVER (PARTITION BY m."newKey") AS "sharing"
  FROM (
    SELECT 'live' AS "place", "id", "newsgraph_tmp_percent"("urlKey") AS "newKey", "urlKey" AS "oldKey"
    FROM "Article" WHERE "urlKey" LIKE '%\%%'
    UNION ALL
    SELECT 'trash', "id", "newsgraph_tmp_percent"("urlKey"), "urlKey"
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

DROP FUNCTION "newsgraph_tmp_percent"(text);
