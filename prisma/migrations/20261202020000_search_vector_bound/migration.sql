-- PostgreSQL refuses a tsvector whose distinct words take more than 1 MB ("string is too long for
-- tsvector", 54000, past 1,048,575 bytes), and a body within the API's 500,000 characters can make
-- one: 29,400 distinct words of two-byte letters that lower-case to three bytes take 1.5 MB. Every
-- write of such an article failed (a 500, and an import stopped at its record for good). Now the
-- body is indexed from its start, as much of it as fits (halving until it does), when all of it
-- does not; the body itself is stored in full. A body under 100,000 bytes cannot come near the
-- limit (its words take a few times its bytes at most: a hyphenated word is indexed whole and in
-- parts, a letter lower-cased may be 1.5 times as long, and each distinct word has a few bytes of
-- overhead; about 3.5 times was the most measured; the title, description and summary together
-- are at most 25,500 characters), so it takes no subtransaction.
CREATE OR REPLACE FUNCTION "newsgraph_article_search_vector"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head tsvector := setweight(to_tsvector('english'::regconfig, NEW."title"), 'A') ||
    setweight(to_tsvector('english'::regconfig, NEW."description" || ' ' || NEW."summary"), 'B');
  indexed int;
BEGIN
  IF octet_length(NEW."body") < 100000 THEN
    NEW."searchVector" := head || setweight(to_tsvector('english'::regconfig, NEW."body"), 'D');
    RETURN NEW;
  END IF;
  indexed := length(NEW."body");
  LOOP
    BEGIN
      NEW."searchVector" := head || setweight(to_tsvector('english'::regconfig, left(NEW."body", indexed)), 'D');
      RETURN NEW;
    EXCEPTION WHEN program_limit_exceeded THEN
      indexed := indexed / 2;
    END;
  END LOOP;
END
$$;
