import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kind, parse, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvSchema } from '../src/config.ts';
import { prisma } from '../src/db/client.ts';
import { EXAMPLE_TABS } from '../src/graphiql.ts';
import { createApiKey } from '../src/resolvers/access/apiKeys.ts';
import { DEMO_ARTICLE_COUNT, DEMO_SIZES } from '../src/seed/demo.ts';
import { yoga } from './support/api.ts';
import { seedDemo } from './support/demo.ts';
import { embeddedPass } from './support/targets.ts';

/**
 * The README cannot drift from the code: every GraphQL example in it runs without errors on the
 * demo data, the GraphiQL tab it names holds the same operation, every command it shows runs
 * (or, for those CI itself runs, is run by CI exactly so), and every setting it lists is one the
 * server reads, and the other way round.
 */

const root = path.resolve(import.meta.dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const ci = fs.readFileSync(path.join(root, '.ci/run'), 'utf8');
const scripts = (
  JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

const blocks = [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((match) => ({
  lang: match[1]!,
  text: match[2]!,
  at: match.index,
}));

/** A README example as a document: a bare selection (`articles(...) { ... }`) is a query's. */
function documentOf(text: string): DocumentNode {
  try {
    return parse(text);
  } catch {
    return parse(`query { ${text} }`);
  }
}

/** Every command the README shows: the lines of its shell blocks and its inline `npm ...` spans. */
function commands(): string[] {
  const found = new Set<string>();
  for (const block of blocks.filter((entry) => entry.lang === 'sh')) {
    for (const line of block.text.split('\n')) {
      const command = line.replace(/#.*$/, '').trim();
      if (command) found.add(command);
    }
  }
  for (const match of readme.matchAll(/`(npm (?:run|start|test|install)[^`]*)`/g)) found.add(match[1]!.trim());
  return [...found];
}

function run(command: string, env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', ['-c', command], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group, so that a timeout stops npm's children too
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

let admin: string;
beforeAll(async () => {
  await seedDemo();
  admin = (await createApiKey(prisma, 'readme-admin', 'ADMIN')).secret;
});

describe('README', () => {
  it("states the demo dataset's sizes as the seed makes them", () => {
    const stated = /demo dataset \((\d+) articles, (\d+) authors, (\d+) topics/.exec(readme.replace(/\s+/g, ' '));
    expect(stated?.slice(1).map(Number)).toEqual([DEMO_ARTICLE_COUNT, DEMO_SIZES.authors, DEMO_SIZES.topics]);
  });

  it('has GraphQL examples that all run without errors on the demo data', async () => {
    const examples = blocks.filter((block) => block.lang === 'graphql');
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const example of examples) {
      const response = await yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: print(documentOf(example.text)) }),
      });
      const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
      expect(body.errors, example.text).toBeUndefined();
      expect(response.status).toBe(200);
      // a mutation example succeeds
      for (const value of Object.values(body.data ?? {})) {
        const typename = (value as { __typename?: string } | null)?.__typename;
        if (typename) expect(typename, example.text).toMatch(/Success$/);
      }
    }
  });

  it('shows each GraphiQL tab it names as that tab has it', () => {
    const ordinals = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'];
    const mentions = [...readme.matchAll(/GraphiQL's (\w+) tab/g)];
    expect(mentions.length).toBeGreaterThan(0);
    for (const mention of mentions) {
      const index = ordinals.indexOf(mention[1]!);
      expect(index, mention[0]).toBeGreaterThanOrEqual(0);
      const tab = EXAMPLE_TABS[index];
      expect(tab, `${mention[0]}: GraphiQL has ${EXAMPLE_TABS.length} tabs`).toBeDefined();
      const example = blocks.find((block) => block.lang === 'graphql' && block.at > mention.index)!;
      const operations = (document: DocumentNode) =>
        document.definitions.filter(
          (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
        );
      const shown = operations(documentOf(example.text));
      const inTab = new Map(operations(parse(tab!.query)).map((operation) => [operation.name?.value, operation]));
      for (const operation of shown) {
        expect(operation.name, 'a README example of a tab names its operation').toBeDefined();
        expect(print(operation)).toBe(print(inTab.get(operation.name!.value)!));
      }
    }
  });

  it('lists every setting the server reads, and only those', () => {
    const listed = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((match) => match[1]!));
    const settings = Object.keys(EnvSchema.shape);
    for (const name of settings) expect(listed, `${name} is not in the README`).toContain(name);
    // besides the server's settings: the test suite's and the migration tooling's own
    const tooling = ['TEST_DATABASE_URL', 'DEBUG_SCHEMA_ENGINE'];
    const errorCodes = [...readme.matchAll(/^\| `([A-Z_]+)`[^|]*\| [^|]*\|/gm)].map((match) => match[1]!);
    for (const name of listed) {
      if (settings.includes(name) || tooling.includes(name)) continue;
      // the roles and error codes tables use the same form
      expect(errorCodes.includes(name) || ['EDITOR', 'ADMIN'].includes(name), name).toBe(true);
    }
  });

  describe('commands', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-readme-'));
    // an embedded database of their own (the commands take its folder), on a fresh copy
    const env = { PGLITE_DIR: path.join(dir, 'data'), DATABASE_URL: undefined };
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Commands CI runs itself (.ci/run), each checked to be run there as the README shows it. */
    const runByCi: Record<string, RegExp> = {
      'npm install && npm start': /\nnpm ci\b/,
      'npm install': /\nnpm ci\b/,
      'npm test': /\nnpm test\n/,
      'npm run test:postgres': /TEST_DATABASE_URL=postgresql:\/\/postgres@127\.0\.0\.1:5432\/postgres npm test/,
      'npm run codegen': /npm run --silent codegen/,
      'npm run generate': /\nnpm ci\b/,
      'npm run bench -- --quick': /npm run bench -- --quick/,
    };

    it('names only npm scripts that exist', () => {
      for (const command of commands()) {
        for (const match of command.matchAll(/npm run (?:--silent )?([\w:-]+)/g)) {
          expect(scripts, `${command}: no npm script ${match[1]}`).toHaveProperty(match[1]!);
        }
      }
      // npm start is what the real-process tests run (test/support/process.ts)
      expect(scripts.start).toBe('node --import tsx src/main.ts');
      // npm install runs generate (postinstall), which CI's npm ci does too
      expect(scripts.postinstall).toMatch(/npm run --silent generate/);
    });

    // as written they take the embedded default (no DATABASE_URL), here a folder of their own, not
    // the database under test: the same work in either pass, so the embedded pass runs them
    it.runIf(embeddedPass)(
      'runs every other command as written',
      async () => {
        const ran: string[] = [];
        for (const raw of commands()) {
          if (runByCi[raw]) {
            expect(ci, raw).toMatch(runByCi[raw]!);
            continue;
          }
          if (/^export /.test(raw) || !/\bnpm\b/.test(raw)) continue;
          // settings and placeholders as a reader would fill them in
          let command = raw.replace(/<name>/g, 'readme-cli').replace(/<x>/g, 'readme_check');
          if (/DATABASE_URL/.test(command) || /\bnpm start\b/.test(command)) {
            // a server: the real-process tests start it; its settings must be real ones
            for (const [, name] of command.matchAll(/\b([A-Z_]+)=/g))
              expect(Object.keys(EnvSchema.shape)).toContain(name);
            continue;
          }
          // the benchmark: its options are checked, not run (CI runs the smoke test)
          if (/npm run bench\b/.test(command) && !/--help/.test(command)) {
            command += / -- /.test(command) ? ' --dry-run' : ' -- --dry-run';
          }
          if (/npm run db:migrate:dev/.test(command)) command = command.replace(/--name \S+/, '--name readme_check');
          const result = await run(command, env);
          expect(result.code, `${command}\n${result.output}`).toBe(0);
          if (/db:migrate:dev/.test(command)) expect(result.output).toMatch(/no schema changes/);
          ran.push(command);
        }
        // the ones that matter most ran
        expect(ran.some((command) => /apikey -- create/.test(command))).toBe(true);
        expect(ran.some((command) => /db:migrate\b/.test(command))).toBe(true);
        expect(ran.some((command) => /db:drift/.test(command))).toBe(true);
      },
      300_000,
    );
  });
});
