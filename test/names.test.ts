import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { nameKey } from '../prisma/nameKey.ts';
import { prisma } from '../src/db/client.ts';
import { applyMigrations, readMigrations } from '../src/db/migrate.ts';
import { openPGlite } from '../src/db/pglite.ts';
import { normalizeUrl } from '../src/resolvers/articles/urls.ts';
import { graphql } from './gql/index.ts';
import { execute, yoga } from './support/api.ts';
import { globalId } from './support/demo.ts';
import { callers, type Caller } from './support/keys.ts';
import { databaseUrl, serverUrl } from './support/targets.ts';

/**
 * Author and topic names are one name whatever their case, Unicode form or spacing (the name
 * key, kept by the database), and all text a client sends is stored and compared in NFC.
 */

const CreateAuthor = graphql(`
  mutation NamesCreateAuthor($input: CreateAuthorInput!) {
    createAuthor(input: $input) {
      __typename
      ... on CreateAuthorSuccess {
        author {
          id
          name
        }
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
    }
  }
`);
const RenameAuthor = graphql(`
  mutation NamesRenameAuthor($input: UpdateAuthorInput!) {
    updateAuthor(input: $input) {
      __typename
      ... on UpdateAuthorSuccess {
        author {
          name
        }
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
    }
  }
`);
const CreateTopic = graphql(`
  mutation NamesCreateTopic($input: CreateTopicInput!) {
    createTopic(input: $input) {
      __typename
      ... on CreateTopicSuccess {
        topic {
          id
          name
          slug
        }
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
    }
  }
`);
const FileArticle = graphql(`
  mutation NamesFileArticle($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          title
          authors {
            id
            name
          }
          topics {
            id
            name
          }
        }
      }
    }
  }
`);
const Find = graphql(`
  query NamesFind($filter: ArticleFilter, $search: String, $author: String!) {
    articles(filter: $filter, search: $search) {
      totalCount
    }
    authors(filter: { name: { equals: $author } }) {
      totalCount
    }
  }
`);

let as: Record<Caller, Record<string, string>>;
beforeAll(async () => {
  as = await callers();
});

const NFC = 'Café Zoë';
const NFD = NFC.normalize('NFD');

let n = 0;
const file = (authors: string[], topics: string[] = [], title = `Names ${n + 1}`) =>
  execute(
    FileArticle,
    {
      input: {
        title,
        url: `https://names.example/${++n}`,
        source: 'Names',
        publishedAt: '2026-03-01T00:00:00Z',
        priority: 2,
        authors: authors.map((name) => ({ name })),
        topics: topics.map((name) => ({ name })),
      },
    },
    as.editor,
  );

describe('one author per name, whatever its spelling', () => {
  it('refuses a new author whose name differs only in case, Unicode form, width or spacing', async () => {
    const made = await execute(CreateAuthor, { input: { name: 'Zed Xavier' } }, as.editor);
    expect(made.data?.createAuthor.__typename).toBe('CreateAuthorSuccess');
    for (const variant of ['ZED XAVIER', 'zed   xavier', ' Zed\tXavier ', 'Ｚｅｄ Ｘａｖｉｅｒ', 'Zed\u200b Xavier']) {
      const again = await execute(CreateAuthor, { input: { name: variant } }, as.editor);
      expect(again.data?.createAuthor, variant).toEqual({
        __typename: 'ValidationError',
        fields: [{ path: ['input', 'name'], code: 'TAKEN' }],
      });
    }
    const nfc = await execute(CreateAuthor, { input: { name: NFC } }, as.editor);
    expect(nfc.data?.createAuthor.__typename).toBe('CreateAuthorSuccess');
    const nfd = await execute(CreateAuthor, { input: { name: NFD } }, as.editor);
    expect(nfd.data?.createAuthor.__typename).toBe('ValidationError');
    const strasse = await execute(CreateAuthor, { input: { name: 'Anna Straße' } }, as.editor);
    expect(strasse.data?.createAuthor.__typename).toBe('CreateAuthorSuccess');
    expect((await execute(CreateAuthor, { input: { name: 'ANNA STRASSE' } }, as.editor)).data?.createAuthor).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'name'], code: 'TAKEN' }],
    });
    expect(await prisma.author.count({ where: { nameKey: 'zed xavier' } })).toBe(1);
  });

  it('connects article refs in any spelling to one author, stored as first filed, in NFC', async () => {
    const first = await file([NFD, 'Kim  Lee'], [`Économie ${NFD}`.normalize('NFD')]);
    const second = await file([NFC.toUpperCase(), 'kim lee'], [`ÉCONOMIE ${NFC}`]);
    const a = first.data?.createArticle.__typename === 'CreateArticleSuccess' ? first.data.createArticle.article : null;
    const b =
      second.data?.createArticle.__typename === 'CreateArticleSuccess' ? second.data.createArticle.article : null;
    expect(a && b).toBeTruthy();
    expect(b!.authors.map((x) => x.id)).toEqual(a!.authors.map((x) => x.id));
    expect(b!.topics.map((x) => x.id)).toEqual(a!.topics.map((x) => x.id));
    // the name as first filed, in NFC
    expect(a!.authors[0]!.name).toBe(NFC);
    expect(a!.authors[1]!.name).toBe('Kim Lee');
    const stored = await prisma.author.findMany({ where: { nameKey: nameKey(NFC) } });
    expect(stored.map((row) => row.name)).toEqual([NFC]);
    // one byline naming the same person twice is refused
    const twice = await execute(
      graphql(`
        mutation NamesTwice($input: CreateArticleInput!) {
          createArticle(input: $input) {
            __typename
            ... on ValidationError {
              fields {
                path
                code
              }
            }
          }
        }
      `),
      {
        input: {
          title: 'Twice',
          url: 'https://names.example/twice',
          source: 'Names',
          publishedAt: '2026-03-01T00:00:00Z',
          priority: 1,
          authors: [{ name: 'Kim Lee' }, { name: 'KIM LEE' }],
        },
      },
      as.editor,
    );
    expect(twice.data?.createArticle).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'authors', '1'], code: 'DUPLICATE' }],
    });
  });

  it('renames to another spelling of the same name, and refuses another author’s name in any spelling', async () => {
    const a = await prisma.author.create({ data: { name: 'rename me' } });
    await prisma.author.create({ data: { name: 'Ölaf Other' } });
    const recased = await execute(
      RenameAuthor,
      { input: { id: globalId('Author', a.id), name: 'Rename Me' } },
      as.editor,
    );
    expect(recased.data?.updateAuthor).toEqual({ __typename: 'UpdateAuthorSuccess', author: { name: 'Rename Me' } });
    const clash = await execute(
      RenameAuthor,
      { input: { id: globalId('Author', a.id), name: 'ÖLAF OTHER'.normalize('NFD') } },
      as.editor,
    );
    expect(clash.data?.updateAuthor).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'name'], code: 'TAKEN' }],
    });
  });

  it('drops invisible format characters from names, so the name filed is the name found', async () => {
    const made = await execute(CreateAuthor, { input: { name: '\u200bZwsp\u00ad Per\u2060son\u200e' } }, as.editor);
    expect(made.data?.createAuthor).toMatchObject({ author: { name: 'Zwsp Person' } });
    const found = await execute(Find, { author: 'Zwsp Person' });
    expect(found.data?.authors.totalCount).toBe(1);
    // joiners that change how a name is written stay (Persian ZWNJ)
    const persian = await execute(CreateAuthor, { input: { name: 'می\u200cخواهم' } }, as.editor);
    expect(persian.data?.createAuthor).toMatchObject({ author: { name: 'می\u200cخواهم' } });
  });

  it('refuses names with nothing visible in them', async () => {
    for (const name of ['\u200b', '\u200b\u200d \u2060', '\u2800', '\u0301']) {
      const refused = await execute(CreateAuthor, { input: { name } }, as.editor);
      expect(refused.data?.createAuthor, JSON.stringify(name)).toEqual({
        __typename: 'ValidationError',
        fields: [{ path: ['input', 'name'], code: 'REQUIRED' }],
      });
    }
  });
});

describe('one topic per name', () => {
  it('refuses a topic whose name differs only in case or form, even with another slug', async () => {
    const made = await execute(CreateTopic, { input: { name: 'Zed Topic', slug: 'zed-topic-1' } }, as.editor);
    expect(made.data?.createTopic.__typename).toBe('CreateTopicSuccess');
    const again = await execute(CreateTopic, { input: { name: 'ZED TOPIC', slug: 'zed-topic-2' } }, as.editor);
    expect(again.data?.createTopic).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'name'], code: 'TAKEN' }],
    });
    const slug = await execute(CreateTopic, { input: { name: 'Other Zed', slug: 'zed-topic-1' } }, as.editor);
    expect(slug.data?.createTopic).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'slug'], code: 'TAKEN' }],
    });
  });
});

describe('text in NFC', () => {
  it('finds text filed in NFC when the filter or search is typed in NFD, and the reverse', async () => {
    await file(['Nfc Writer'], [], `Crème brûlée ${NFC} summit`);
    await file(['Nfd Writer'], [], `Résumé ${NFD} policy`);
    for (const title of ['Crème brûlée', 'Résumé']) {
      for (const typed of [title.normalize('NFC'), title.normalize('NFD')]) {
        const found = await execute(Find, {
          filter: { title: { contains: typed } },
          search: undefined,
          author: 'x',
        });
        expect(found.data?.articles.totalCount, `${title} typed ${typed === title ? 'NFC' : 'NFD'}`).toBe(1);
        const searched = await execute(Find, { search: typed, author: 'x' });
        expect(searched.data?.articles.totalCount).toBe(1);
        const text = await execute(Find, { filter: { text: typed }, author: 'x' });
        expect(text.data?.articles.totalCount).toBe(1);
      }
    }
    const byName = await execute(Find, { author: NFD });
    expect(byName.data?.authors.totalCount).toBe(1);
    // literals in the document are normalized like variables, also when spelt as \u escapes
    for (const literal of ['Re\u0301sume\u0301'.normalize('NFD'), 'Re\\u0301sume\\u0301']) {
      const response = await yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ articles(filter: { title: { contains: "${literal}" } }) { totalCount } }` }),
      });
      expect(await response.json(), literal).toEqual({ data: { articles: { totalCount: 1 } } });
    }
    const stored = await prisma.article.findMany({ where: { title: { contains: 'Résumé' } }, select: { title: true } });
    expect(stored.map((row) => row.title)).toEqual([`Résumé ${NFC} policy`]);
  });
});

describe('the database name key', () => {
  it('equals the Unicode reference (NFKC_Casefold) for every code point that changes', async () => {
    const chars: string[] = [];
    for (let codePoint = 1; codePoint <= 0x10ffff; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const char = String.fromCodePoint(codePoint);
      if (nameKey(char) !== char) chars.push(char);
    }
    expect(chars.length).toBeGreaterThan(10_000);
    const samples = [...chars, 'Straße', ' Zed  X ', 'İstanbul', 'ǅemal', 'ΣΊΣΥΦΟΣ', 'Ｃａｆé', NFD, 'a\u00adb'];
    const rows = await prisma.$queryRaw<{ given: string; key: string; nfkc: string }[]>`
      SELECT c AS "given", "newsgraph_name_key"(c) AS "key", normalize(c, NFKC) AS "nfkc"
      FROM unnest(${samples}::text[]) AS c`;
    const differences = rows.filter((row) => row.key !== nameKey(row.given));
    // The only differences allowed: code points this PostgreSQL's Unicode tables (older than
    // Node's) do not yet normalize, which are then left as they are.
    for (const row of differences) {
      expect(row.nfkc, `U+${row.given.codePointAt(0)!.toString(16)}`).not.toBe(row.given.normalize('NFKC'));
    }
    expect(differences.length).toBeLessThan(200);
    expect(rows.find((row) => row.given === 'Straße')?.key).toBe('strasse');
    expect(rows.find((row) => row.given === ' Zed  X ')?.key).toBe('zed x');
  });
});

/** A database migrated up to (not including) the name keys, for the migration test. */
async function databaseBeforeNameKeys(): Promise<{
  run: (sql: string) => Promise<unknown[]>;
  migrate: () => Promise<string[]>;
  close: () => Promise<void>;
}> {
  const all = readMigrations();
  const before = {
    ...all,
    migrationDirectories: all.migrationDirectories.filter((dir) => dir.path < '20261129092516_name_keys'),
  };
  if (serverUrl) {
    const name = `newsgraph_names_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const target = { kind: 'postgres' as const, url: databaseUrl(name) };
    await applyMigrations(target, before);
    return {
      run: async (sql) => {
        const client = new pg.Client({ connectionString: target.url });
        await client.connect();
        try {
          const results = await client.query(sql);
          return (Array.isArray(results) ? results : [results]).flatMap((result) => result.rows);
        } finally {
          await client.end();
        }
      },
      migrate: () => applyMigrations(target),
      close: async () => {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-names-'));
  await applyMigrations({ kind: 'pglite', dataDir: dir }, before);
  let db = await openPGlite(dir);
  return {
    run: async (sql) => (await db.exec(sql)).flatMap((result) => result.rows),
    migrate: async () => {
      await db.close();
      const applied = await applyMigrations({ kind: 'pglite', dataDir: dir });
      db = await openPGlite(dir);
      return applied;
    },
    close: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('the name-key migration', () => {
  it('merges authors and topics that were filed twice under one name, keeping bylines, links and counts', async () => {
    const db = await databaseBeforeNameKeys();
    try {
      await db.run(`
        INSERT INTO "Author" ("id", "name") VALUES (1, 'Zed X'), (2, 'ZED X'), (3, 'Ann Lee'), (4, '${NFD}'), (5, '${NFC}');
        INSERT INTO "Topic" ("id", "name", "slug") VALUES (1, 'AI', 'ai'), (2, 'ai', 'ai-2'), (3, 'Chips', 'chips');
        INSERT INTO "Article" ("id", "title", "url", "urlKey", "source", "publishedAt", "updatedAt", "priority", "body")
        VALUES (1, 'One', 'https://m.example/1', 'https://m.example/1', 'S', now(), now(), 1, '${NFD}'),
               (2, 'Two', 'https://m.example/2', 'https://m.example/2', 'S', now(), now(), 1, ''),
               (3, 'Three', 'https://m.example/3', 'https://m.example/3', 'S', now(), now(), 1, ''),
               (4, 'Four', 'https://m.example/${NFD}', '${new URL(`https://m.example/${NFD}`).href}', 'S', now(), now(), 1, '');
        -- One: ZED X, Ann Lee, Zed X (the same person twice); Two: Ann Lee, NFD Café; Three: NFC Café
        INSERT INTO "ArticleAuthor" VALUES (1, 2, 0), (1, 3, 1), (1, 1, 2), (2, 3, 0), (2, 4, 1), (3, 5, 0);
        INSERT INTO "ArticleTopic" VALUES (1, 1), (1, 2), (2, 2), (2, 3), (3, 1);
        SELECT setval('"Author_id_seq"', 5); SELECT setval('"Topic_id_seq"', 3);`);
      expect(await db.migrate()).toContain('20261129092516_name_keys');
      const bylines = await db.run(`
        SELECT a."articleId", string_agg(u."name", ', ' ORDER BY a."position") AS "byline",
               array_agg(a."position" ORDER BY a."position")::text AS "positions"
        FROM "ArticleAuthor" a JOIN "Author" u ON u."id" = a."authorId" GROUP BY 1 ORDER BY 1`);
      expect(bylines).toEqual([
        { articleId: 1, byline: 'Zed X, Ann Lee', positions: '{0,1}' },
        { articleId: 2, byline: `Ann Lee, ${NFC}`, positions: '{0,1}' },
        { articleId: 3, byline: NFC, positions: '{0}' },
      ]);
      expect(await db.run(`SELECT "id", "name", "nameKey", "articleCount" FROM "Author" ORDER BY "id"`)).toEqual([
        { id: 1, name: 'Zed X', nameKey: 'zed x', articleCount: 1 },
        { id: 3, name: 'Ann Lee', nameKey: 'ann lee', articleCount: 2 },
        { id: 4, name: NFC, nameKey: nameKey(NFC), articleCount: 2 },
      ]);
      expect(await db.run(`SELECT "id", "slug", "articleCount" FROM "Topic" ORDER BY "id"`)).toEqual([
        { id: 1, slug: 'ai', articleCount: 3 },
        { id: 3, slug: 'chips', articleCount: 1 },
      ]);
      // every article whose byline or topics changed has a new version (one: both)
      expect(await db.run(`SELECT "id", "version", "body" FROM "Article" ORDER BY "id"`)).toEqual([
        { id: 1, version: 3, body: NFC },
        { id: 2, version: 2, body: '' },
        { id: 3, version: 2, body: '' },
        { id: 4, version: 1, body: '' },
      ]);
      // a link filed decomposed is found by the key the API computes now, from either spelling
      expect(await db.run(`SELECT "url", "urlKey" FROM "Article" WHERE "id" = 4`)).toEqual([
        { url: `https://m.example/${NFC}`, urlKey: normalizeUrl(`https://m.example/${NFD}`) },
      ]);
      expect(normalizeUrl(`https://m.example/${NFD}`)).toBe(normalizeUrl(`https://m.example/${NFC}`));
      // from now on the database itself refuses a second spelling
      await expect(db.run(`INSERT INTO "Author" ("name") VALUES ('zed  X')`)).rejects.toThrow(/nameKey/);
    } finally {
      await db.close();
    }
  });
});
