import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import type { Viewer } from '../src/resolvers/access/viewer.ts';
import { upsertArticles } from '../src/resolvers/articles/bulk.ts';
import { upsertArticle, type CreateArticleInput } from '../src/resolvers/articles/writes.ts';
import { CANDIDATES_PER_BUCKET } from '../src/resolvers/stories/detect.ts';
import { fingerprint, SIGNATURE_SIZE } from '../src/resolvers/stories/fingerprint.ts';
import { graphql } from './gql/index.ts';
import { codes, execute, recordStatements, yoga } from './support/api.ts';
import { callers, type Caller } from './support/keys.ts';
import { serverUrl } from './support/targets.ts';

const Create = graphql(`
  mutation StoryCreate($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          version
          story {
            id
            version
            articleCount
            sources
            lead {
              id
            }
          }
        }
      }
    }
  }
`);

const Update = graphql(`
  mutation StoryUpdate($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
      ... on UpdateArticleSuccess {
        article {
          id
          version
          storyPinned
          story {
            id
            articleCount
          }
        }
      }
    }
  }
`);

const StoryOf = graphql(`
  query StoryOf($id: ID!) {
    article(id: $id) {
      version
      storyPinned
      story {
        id
        version
        articleCount
        sources
        leadChosen
        firstPublishedAt
        lastPublishedAt
        lead {
          id
        }
        articles(first: 10) {
          totalCount
          edges {
            node {
              id
            }
          }
        }
      }
    }
  }
`);

const Merge = graphql(`
  mutation StoryMerge($input: MergeStoriesInput!) {
    mergeStories(input: $input) {
      __typename
      ... on Error {
        code
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
      ... on VersionConflictError {
        currentVersion
      }
      ... on MergeStoriesSuccess {
        story {
          id
          articleCount
          version
        }
      }
    }
  }
`);

const Detach = graphql(`
  mutation StoryDetach($input: DetachArticleInput!) {
    detachArticle(input: $input) {
      __typename
      ... on Error {
        code
      }
      ... on DetachArticleSuccess {
        article {
          id
          version
          storyPinned
          story {
            id
            articleCount
          }
        }
      }
    }
  }
`);

const Lead = graphql(`
  mutation StoryLead($input: SetStoryLeadInput!) {
    setStoryLead(input: $input) {
      __typename
      ... on Error {
        code
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
      ... on SetStoryLeadSuccess {
        story {
          leadChosen
          version
          lead {
            id
          }
        }
      }
    }
  }
`);

const Collapsed = graphql(`
  query Collapsed($first: Int, $after: String, $filter: ArticleFilter, $search: String) {
    articles(first: $first, after: $after, filter: $filter, search: $search, collapse: STORY) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          story {
            id
          }
        }
      }
    }
  }
`);

const Plain = graphql(`
  query PlainList($first: Int, $filter: ArticleFilter) {
    articles(first: $first, filter: $filter) {
      edges {
        node {
          id
          title
        }
      }
    }
  }
`);

const CollapsedTitles = graphql(`
  query CollapsedTitles($first: Int, $filter: ArticleFilter) {
    articles(first: $first, filter: $filter, collapse: STORY) {
      edges {
        node {
          id
          title
        }
      }
    }
  }
`);

const Stories = graphql(`
  query StoriesList($first: Int, $after: String, $filter: ArticleFilter, $search: String) {
    stories(first: $first, after: $after, filter: $filter, search: $search) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          articleCount
        }
      }
    }
  }
`);

const StoriesWithTotals = graphql(`
  query StoriesWithTotals($first: Int, $filter: ArticleFilter) {
    stories(first: $first, filter: $filter) {
      edges {
        node {
          articleCount
          articles(first: 1) {
            totalCount
          }
        }
      }
    }
  }
`);

const Delete = graphql(`
  mutation StoryDelete($input: DeleteArticleInput!) {
    deleteArticle(input: $input) {
      __typename
    }
  }
`);

const Upsert = graphql(`
  mutation StoryUpsert($input: CreateArticleInput!) {
    upsertArticle(input: $input) {
      __typename
      ... on UpsertArticleSuccess {
        created
        article {
          id
          story {
            id
            articleCount
          }
        }
      }
    }
  }
`);

const StoryFacets = graphql(`
  query StoryFacets($filter: ArticleFilter) {
    articleFacets(filter: $filter, collapse: STORY) {
      total
      totalExact
      sources {
        source
        count
      }
    }
  }
`);

/** A wire story of six paragraphs of distinct words, made from `seed` (no two seeds share a 4-word run). */
function wire(seed: string, paragraphs = 6): string[] {
  return Array.from({ length: paragraphs }, (_, p) =>
    Array.from({ length: 30 }, (_, w) => `${seed}${p}w${w}x${(p * 31 + w * 7) % 11}`).join(' '),
  );
}

/** The database id of a global ID. */
const dbId = (id: string) => Number(Buffer.from(id, 'base64').toString().split(':')[1]);

let as: Record<Caller, Record<string, string>>;
let filed = 0;
/** One filing through the API; returns the article and its story. */
async function file(fields: { title: string; body?: string; source?: string; publishedAt?: string; tag?: string }) {
  filed += 1;
  const result = await execute(
    Create,
    {
      input: {
        title: fields.title,
        url: `https://stories.example/${fields.tag ?? 'x'}/${filed}`,
        source: fields.source ?? `Paper ${filed}`,
        publishedAt: fields.publishedAt ?? '2026-03-02T00:00:00Z',
        priority: 3,
        body: fields.body,
        topics: [{ name: fields.tag ?? 'Stories' }],
      },
    },
    as.editor,
  );
  const created = result.data?.createArticle;
  if (created?.__typename !== 'CreateArticleSuccess') throw new Error(JSON.stringify(result));
  return created.article;
}

beforeAll(async () => {
  as = await callers();
});

describe('fingerprint', () => {
  it('ignores case and punctuation, and has no content signature without a body', () => {
    const a = fingerprint({ title: 'One Two Three', body: 'Alpha, beta; gamma delta epsilon.' });
    const b = fingerprint({ title: 'one two three!', body: 'ALPHA BETA - GAMMA DELTA EPSILON' });
    expect(a).toEqual(b);
    expect(a.signature).toHaveLength(SIGNATURE_SIZE);
    const short = fingerprint({ title: 'One Two Three', body: '   ' });
    expect(short.signature).toEqual([]);
    expect(short.shingles).toBe(0);
    expect(short.buckets.length).toBeGreaterThan(0);
  });

  it('gives a fixed text the fingerprint the stored ones were computed with (every constant is part of the data)', () => {
    // ArticleFingerprint and ArticleBand keep these values: a change to the shingling, the
    // hashes, the seeds or the banding makes every stored fingerprint stale (see fingerprint.ts)
    const pinned = fingerprint({
      title: 'Council approves new harbour ferry timetable',
      body: 'The council approved a new ferry timetable for the harbour on Tuesday, adding early services from Manly and late services on weekends.',
    });
    expect(pinned.shingles).toBe(19);
    expect(pinned.titleWords).toEqual(['approves', 'council', 'ferry', 'harbour', 'new', 'timetable']);
    expect(pinned.signature.slice(0, 4)).toEqual([210461348, 72866495, 379193058, 545841331]);
    expect(createHash('sha256').update(pinned.signature.join(',')).digest('hex')).toBe(
      '9ab50c08361223528ce4564c845a9df06c4afde619de71756663d119e5d8167e',
    );
    expect(pinned.buckets).toEqual([
      -1988165867, -1542539829, -1375539445, -1088615534, -1029696041, -1015723340, -737742667, -704564772, -207247806,
      -150350487, -74432818, 10689186, 233552873, 558742116, 601707836, 728446597, 743798870, 940544984, 1075646344,
      1105639242, 1159898836, 1558137234, 1772518239, 1874390103,
    ]);
  });
});

describe('story detection on writes', () => {
  it('puts a re-headlined, trimmed copy with boilerplate in the original story, and a near-miss apart', async () => {
    const paragraphs = wire('dx');
    const original = await file({ title: 'Harbour tunnel opens', body: paragraphs.join('\n\n'), tag: 'd1' });
    const copy = await file({
      title: 'Motorists get new crossing at last',
      body: [
        'Distributed by Wirecorp. Subscribe for more.',
        ...paragraphs.slice(0, 4).map((p) => p.toUpperCase().replaceAll(' ', ', ')),
      ].join('\n\n'),
      publishedAt: '2026-03-03T10:00:00Z',
      source: 'Other Paper',
      tag: 'd1',
    });
    // the same topic, boilerplate and day, another text
    const nearMiss = await file({
      title: 'Harbour tunnel opens',
      body: ['Distributed by Wirecorp. Subscribe for more.', ...wire('nm')].join('\n\n'),
      tag: 'd1',
    });
    expect(copy.story.id).toBe(original.story.id);
    expect(copy.story.articleCount).toBe(2);
    expect(copy.story.lead.id).toBe(original.id);
    expect(copy.story.sources).toEqual(['Other Paper', expect.stringMatching(/^Paper /)].sort());
    expect(nearMiss.story.id).not.toBe(original.story.id);
    expect(nearMiss.story.articleCount).toBe(1);
  });

  it('keeps copies published further apart than the window in stories of their own', async () => {
    const body = wire('win').join('\n\n');
    const first = await file({ title: 'Window story', body, publishedAt: '2026-01-01T00:00:00Z', tag: 'w' });
    const late = await file({ title: 'Window story', body, publishedAt: '2026-01-05T00:00:01Z', tag: 'w' });
    expect(late.story.id).not.toBe(first.story.id);
  });

  it('never grows a story past the window by a chain of copies', async () => {
    const body = wire('chain').join('\n\n');
    const at = (hours: number) => new Date(Date.UTC(2026, 1, 1) + hours * 3_600_000).toISOString();
    const first = await file({ title: 'Chain 0', body, publishedAt: at(0), tag: 'ch' });
    const second = await file({ title: 'Chain 60', body, publishedAt: at(60), tag: 'ch' });
    const third = await file({ title: 'Chain 120', body, publishedAt: at(120), tag: 'ch' });
    expect(second.story.id).toBe(first.story.id);
    // within 72 hours of the second, but the story would span 120
    expect(third.story.id).not.toBe(first.story.id);
  });

  it('moves an article out of its story when a change of date would stretch the story past the window', async () => {
    const body = wire('date').join('\n\n');
    const a = await file({ title: 'Date A', body, publishedAt: '2026-06-01T00:00:00Z', tag: 'dd' });
    await file({ title: 'Date B', body, publishedAt: '2026-06-03T22:00:00Z', tag: 'dd' });
    const c = await file({ title: 'Date C', body, publishedAt: '2026-06-03T22:00:00Z', tag: 'dd' });
    expect(c.story).toMatchObject({ id: a.story.id, articleCount: 3 });
    const moved = await execute(
      Update,
      { input: { id: c.id, expectedVersion: c.version, publishedAt: '2026-06-06T20:00:00Z' } },
      as.editor,
    );
    expect(moved.data?.updateArticle).toMatchObject({ article: { story: { articleCount: 1 } } });
    const story = (await execute(StoryOf, { id: a.id })).data!.article!.story;
    expect(story.articleCount).toBe(2);
    expect(Date.parse(story.lastPublishedAt) - Date.parse(story.firstPublishedAt)).toBeLessThanOrEqual(72 * 3_600_000);
  });

  it('files the same URL again without leaving an empty story behind', async () => {
    const input = {
      title: 'Upserted twice',
      url: 'https://stories.example/upsert/1',
      source: 'Upsert Times',
      publishedAt: '2026-03-02T00:00:00Z',
      priority: 3,
      body: wire('up').join('\n\n'),
    };
    const first = await execute(Upsert, { input }, as.editor);
    const before = await prisma.story.count();
    for (const body of [input.body, `${input.body} More.`]) {
      const again = await execute(Upsert, { input: { ...input, body } }, as.editor);
      expect(again.data?.upsertArticle).toMatchObject({ created: false, article: { story: { articleCount: 1 } } });
    }
    expect(first.data?.upsertArticle).toMatchObject({ created: true });
    expect(await prisma.story.count()).toBe(before);
    expect(await prisma.story.count({ where: { articles: { none: {} } } })).toBe(0);
  });

  it('groups short texts (no body) by title, and needs three title words', async () => {
    const a = await file({ title: 'Reserve Bank holds cash rate at 4.1 per cent', tag: 's' });
    const b = await file({ title: 'RESERVE BANK HOLDS CASH RATE AT 4.1 PER CENT!', tag: 's' });
    const other = await file({ title: 'Reserve Bank lifts cash rate to 4.6 per cent amid surprise', tag: 's' });
    const wrapA = await file({ title: 'Market wrap', tag: 's' });
    const wrapB = await file({ title: 'Market wrap', tag: 's' });
    expect(b.story.id).toBe(a.story.id);
    expect(other.story.id).not.toBe(a.story.id);
    expect(wrapB.story.id).not.toBe(wrapA.story.id);
  });

  it('moves an article out when an edit makes it another story, and back when it is a copy again', async () => {
    const paragraphs = wire('mv');
    const original = await file({ title: 'Move one', body: paragraphs.join('\n\n'), tag: 'm' });
    const copy = await file({ title: 'Move two', body: paragraphs.join('\n\n'), tag: 'm' });
    expect(copy.story.id).toBe(original.story.id);
    const edited = await execute(
      Update,
      { input: { id: copy.id, expectedVersion: copy.version, body: wire('zz').join('\n\n') } },
      as.editor,
    );
    const moved = edited.data?.updateArticle;
    if (moved?.__typename !== 'UpdateArticleSuccess') throw new Error(JSON.stringify(edited));
    expect(moved.article.story.id).not.toBe(original.story.id);
    expect(moved.article.story.articleCount).toBe(1);
    const back = await execute(
      Update,
      { input: { id: copy.id, expectedVersion: moved.article.version, body: paragraphs.join('\n\n') } },
      as.editor,
    );
    const rejoined = back.data?.updateArticle;
    if (rejoined?.__typename !== 'UpdateArticleSuccess') throw new Error(JSON.stringify(back));
    expect(rejoined.article.story).toEqual({ id: original.story.id, articleCount: 2 });
    // the story it left, empty, is gone
    expect(await prisma.story.count({ where: { articles: { none: {} } } })).toBe(0);
  });
});

describe('deleting members', () => {
  it('passes the lead on when the lead is deleted, and deletes the story with its last article', async () => {
    const paragraphs = wire('del');
    const first = await file({
      title: 'Delete one',
      body: paragraphs.join('\n\n'),
      publishedAt: '2026-03-02T00:00:00Z',
    });
    const second = await file({
      title: 'Delete two',
      body: paragraphs.join('\n\n'),
      publishedAt: '2026-03-02T01:00:00Z',
    });
    expect(second.story).toMatchObject({ id: first.story.id, articleCount: 2, lead: { id: first.id } });
    expect((await execute(Delete, { input: { id: first.id } }, as.admin)).data?.deleteArticle.__typename).toBe(
      'DeleteArticleSuccess',
    );
    const left = (await execute(StoryOf, { id: second.id })).data!.article!.story;
    expect(left).toMatchObject({ id: first.story.id, articleCount: 1, lead: { id: second.id } });
    expect(left.version).toBeGreaterThan(second.story.version);
    await execute(Delete, { input: { id: second.id } }, as.admin);
    expect(await prisma.story.findUnique({ where: { id: dbId(first.story.id) } })).toBeNull();
    // the detector's rows went with the articles
    const articleIds = [first.id, second.id].map(dbId);
    expect(await prisma.articleBand.count({ where: { articleId: { in: articleIds } } })).toBe(0);
    expect(await prisma.articleFingerprint.count({ where: { articleId: { in: articleIds } } })).toBe(0);
  });
});

describe('editor corrections', () => {
  it('detaches an article for good: an edit that still matches does not pull it back', async () => {
    const paragraphs = wire('dt');
    const original = await file({ title: 'Detach one', body: paragraphs.join('\n\n'), tag: 'dt' });
    const copy = await file({ title: 'Detach two', body: paragraphs.join('\n\n'), tag: 'dt' });
    expect(copy.story.id).toBe(original.story.id);
    const stale = await execute(Detach, { input: { articleId: copy.id, expectedVersion: 99 } }, as.editor);
    expect(stale.data?.detachArticle).toMatchObject({ __typename: 'VersionConflictError', code: 'VERSION_CONFLICT' });
    const anonymous = await execute(Detach, { input: { articleId: copy.id, expectedVersion: copy.version } });
    expect(anonymous.data?.detachArticle).toMatchObject({ __typename: 'ForbiddenError' });
    const detached = await execute(Detach, { input: { articleId: copy.id, expectedVersion: copy.version } }, as.editor);
    const done = detached.data?.detachArticle;
    if (done?.__typename !== 'DetachArticleSuccess') throw new Error(JSON.stringify(detached));
    expect(done.article.storyPinned).toBe(true);
    expect(done.article.story.articleCount).toBe(1);
    expect(done.article.story.id).not.toBe(original.story.id);
    const edit = await execute(
      Update,
      { input: { id: copy.id, expectedVersion: done.article.version, body: `${paragraphs.join('\n\n')}\n\nUpdated.` } },
      as.editor,
    );
    const after = edit.data?.updateArticle;
    if (after?.__typename !== 'UpdateArticleSuccess') throw new Error(JSON.stringify(edit));
    expect(after.article.story.id).toBe(done.article.story.id);
    // a later copy joins one of them; the article left behind, edited, follows neither the
    // detached article nor that copy into its story
    const later = await file({ title: 'Detach later copy', body: paragraphs.join('\n\n'), tag: 'dt' });
    expect([original.story.id, done.article.story.id]).toContain(later.story.id);
    // the article left behind, edited, does not follow the detached one either
    const left = (await execute(StoryOf, { id: original.id })).data!.article!;
    const leftEdit = await execute(
      Update,
      { input: { id: original.id, expectedVersion: left.version, body: `${paragraphs.join('\n\n')}\n\nCorrected.` } },
      as.editor,
    );
    expect(leftEdit.data?.updateArticle).toMatchObject({ article: { story: { id: original.story.id } } });
    // a new copy filed later joins one of them, and the detached one stays alone
    const third = await file({ title: 'Detach three', body: paragraphs.join('\n\n'), tag: 'dt' });
    expect([original.story.id, done.article.story.id]).toContain(third.story.id);
    const still = await execute(StoryOf, { id: copy.id });
    expect(still.data?.article?.story.id).toBe(done.article.story.id);
  });

  it('merges stories, with typed errors for a stale version, a missing story, and bad input', async () => {
    const a = await file({ title: 'Merge alpha', body: wire('ma').join('\n\n'), tag: 'mg' });
    const b = await file({ title: 'Merge beta', body: wire('mb').join('\n\n'), tag: 'mg' });
    const c = await file({ title: 'Merge gamma', body: wire('mc').join('\n\n'), tag: 'mg' });
    const target = a.story;
    const stale = await execute(
      Merge,
      { input: { sourceIds: [b.story.id], targetId: target.id, expectedVersion: target.version + 5 } },
      as.editor,
    );
    expect(stale.data?.mergeStories).toMatchObject({
      __typename: 'VersionConflictError',
      currentVersion: target.version,
    });
    const bad = await execute(
      Merge,
      { input: { sourceIds: [target.id, b.story.id, b.story.id], targetId: target.id, expectedVersion: 1 } },
      as.editor,
    );
    expect(bad.data?.mergeStories).toMatchObject({
      __typename: 'ValidationError',
      fields: [
        { path: ['input', 'sourceIds', '0'], code: 'IS_TARGET' },
        { path: ['input', 'sourceIds', '2'], code: 'DUPLICATE' },
      ],
    });
    const missing = await execute(
      Merge,
      {
        input: {
          sourceIds: [Buffer.from('Story:2000000000').toString('base64')],
          targetId: target.id,
          expectedVersion: target.version,
        },
      },
      as.editor,
    );
    expect(missing.data?.mergeStories).toMatchObject({ __typename: 'NotFoundError' });
    const merged = await execute(
      Merge,
      { input: { sourceIds: [b.story.id, c.story.id], targetId: target.id, expectedVersion: target.version } },
      as.editor,
    );
    const story = merged.data?.mergeStories;
    if (story?.__typename !== 'MergeStoriesSuccess') throw new Error(JSON.stringify(merged));
    expect(story.story).toMatchObject({ id: target.id, articleCount: 3 });
    expect(story.story.version).toBeGreaterThan(target.version);
    const gone = await execute(StoryOf, { id: b.id });
    expect(gone.data?.article).toMatchObject({ storyPinned: true, story: { id: target.id } });
    expect(
      await prisma.story.count({
        where: { id: { in: [b, c].map((x) => dbId(x.story.id)) } },
      }),
    ).toBe(0);
    // a pinned member edited into another text stays in the merged story
    const edit = await execute(
      Update,
      { input: { id: b.id, expectedVersion: gone.data!.article!.version, title: 'Merge beta, renamed' } },
      as.editor,
    );
    expect(edit.data?.updateArticle).toMatchObject({ article: { story: { id: target.id } } });
  });

  it('sets the lead, keeps it while it is a member, and refuses an article of another story', async () => {
    const paragraphs = wire('ld');
    const first = await file({
      title: 'Lead one',
      body: paragraphs.join('\n\n'),
      tag: 'ld',
      publishedAt: '2026-03-02T00:00:00Z',
    });
    const second = await file({
      title: 'Lead two',
      body: paragraphs.join('\n\n'),
      tag: 'ld',
      publishedAt: '2026-03-02T05:00:00Z',
    });
    const outsider = await file({ title: 'Lead other', body: wire('lo').join('\n\n'), tag: 'ld' });
    const before = (await execute(StoryOf, { id: first.id })).data!.article!.story;
    expect(before.lead.id).toBe(first.id);
    const notMember = await execute(
      Lead,
      { input: { storyId: before.id, articleId: outsider.id, expectedVersion: before.version } },
      as.editor,
    );
    expect(notMember.data?.setStoryLead).toMatchObject({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'articleId'], code: 'NOT_A_MEMBER' }],
    });
    const stale = await execute(
      Lead,
      { input: { storyId: before.id, articleId: second.id, expectedVersion: before.version - 1 } },
      as.editor,
    );
    expect(stale.data?.setStoryLead).toMatchObject({ __typename: 'VersionConflictError' });
    const set = await execute(
      Lead,
      { input: { storyId: before.id, articleId: second.id, expectedVersion: before.version } },
      as.editor,
    );
    expect(set.data?.setStoryLead).toMatchObject({ story: { leadChosen: true, lead: { id: second.id } } });
    // a new, earlier copy does not take the chosen lead's place
    const earlier = await file({
      title: 'Lead zero',
      body: paragraphs.join('\n\n'),
      tag: 'ld',
      publishedAt: '2026-03-01T20:00:00Z',
    });
    const after = (await execute(StoryOf, { id: earlier.id })).data!.article!.story;
    expect(after).toMatchObject({ id: before.id, articleCount: 3, leadChosen: true, lead: { id: second.id } });
    expect(after.firstPublishedAt).toBe('2026-03-01T20:00:00.000Z');
  });
});

describe('collapsed lists', () => {
  let tag: string;
  let stories: Set<string>;
  beforeAll(async () => {
    tag = 'cl';
    stories = new Set();
    for (let s = 0; s < 5; s++) {
      const paragraphs = wire(`cl${s}`);
      for (let copy = 0; copy <= s % 3; copy++) {
        const article = await file({
          title: `Collapse ${s}.${copy}`,
          body: paragraphs.join('\n\n'),
          tag,
          publishedAt: `2026-05-0${s + 1}T0${copy}:00:00Z`,
        });
        stories.add(article.story.id);
      }
    }
    expect(stories.size).toBe(5);
  });
  const filter = { topics: { some: { name: { equals: 'cl' } } } };

  it('lists one article per story, the newest, and counts stories', async () => {
    const page = await execute(Collapsed, { first: 10, filter });
    expect(page.data?.articles.totalCount).toBe(5);
    const ids = page.data!.articles.edges.map((edge) => edge.node.story.id);
    expect(new Set(ids)).toEqual(stories);
    const plain = await execute(Plain, { first: 20, filter });
    const collapsedTitles = (await execute(CollapsedTitles, { first: 10, filter })).data!.articles.edges.map(
      (edge) => edge.node.title,
    );
    // the newest of each story, in the plain list's order
    const seen = new Set<string>();
    const expected = plain
      .data!.articles.edges.map((edge) => edge.node.title)
      .filter((title) => {
        const story = title.split('.')[0]!;
        if (seen.has(story)) return false;
        seen.add(story);
        return true;
      });
    expect(collapsedTitles).toEqual(expected);
  });

  it('pages through every story exactly once, forwards, with one story per page', async () => {
    const visited: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = await execute(Collapsed, { first: 1, after, filter });
      const connection = page.data!.articles;
      visited.push(...connection.edges.map((edge) => edge.node.story.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(visited.sort()).toEqual([...stories].sort());
  });

  it('costs the same statements whatever the page size', async () => {
    const small = await recordStatements(() => execute(CollapsedTitles, { first: 1, filter }));
    const large = await recordStatements(() => execute(CollapsedTitles, { first: 50, filter }));
    expect(large.statements.length).toBe(small.statements.length);
    // the page's ids, then its rows
    expect(small.statements.length).toBe(2);
  });

  it('lists stories, each once, with the same count, and by search', async () => {
    const page = await execute(Stories, { first: 3, filter });
    expect(page.data?.stories.totalCount).toBe(5);
    const next = await execute(Stories, { first: 3, after: page.data!.stories.pageInfo.endCursor, filter });
    const all = [...page.data!.stories.edges, ...next.data!.stories.edges].map((edge) => edge.node.id);
    expect(new Set(all)).toEqual(stories);
    expect(all).toHaveLength(5);
    const searched = await execute(Collapsed, { first: 10, search: 'cl00w0x0' });
    expect(searched.data?.articles.totalCount).toBe(1);
  });

  it('counts the articles of a page of stories in one grouped statement, whatever the page size', async () => {
    const few = await recordStatements(() => execute(StoriesWithTotals, { first: 1, filter }));
    const many = await recordStatements(() => execute(StoriesWithTotals, { first: 5, filter }));
    expect(many.statements.length).toBe(few.statements.length);
    const nodes = many.result.data!.stories.edges.map((edge) => edge.node);
    expect(nodes).toHaveLength(5);
    for (const node of nodes) expect(node.articles.totalCount).toBe(node.articleCount);
  });

  it('counts stories in facets', async () => {
    const facets = await execute(StoryFacets, { filter });
    expect(facets.data?.articleFacets).toMatchObject({ total: 5, totalExact: true });
  });
});

const Restore = graphql(`
  mutation StoryRestore($input: TrashedArticleInput!) {
    restoreArticle(input: $input) {
      __typename
    }
  }
`);

describe(`concurrent corrections of the same stories (${serverUrl ? 'PostgreSQL server' : 'PGlite'})`, () => {
  /** One story of `n` articles of distinct texts, grouped by an editor; returns its id and members, in id order. */
  async function storyOf(seed: string, n: number): Promise<{ story: string; members: string[] }> {
    const filedArticles = [];
    for (let i = 0; i < n; i++)
      filedArticles.push(
        await file({ title: `Cluster ${seed} ${i}`, body: wire(`${seed}${i}`).join('\n\n'), tag: seed }),
      );
    const [target, ...sources] = filedArticles.map((article) => article.story);
    const merged = await execute(
      Merge,
      { input: { sourceIds: sources.map((s) => s.id), targetId: target!.id, expectedVersion: target!.version } },
      as.editor,
    );
    expect(merged.data?.mergeStories.__typename, JSON.stringify(merged)).toBe('MergeStoriesSuccess');
    return { story: target!.id, members: filedArticles.map((article) => article.id) };
  }

  /** Write transactions PostgreSQL aborted as deadlock victims so far (run again by writeTransaction). */
  const deadlocks = async () => {
    const { writeRetries } = await import('../src/resolvers/writing/transaction.ts');
    return (await writeRetries.get()).values.find((v) => v.labels.reason === 'deadlock')?.value ?? 0;
  };

  const versionOf = async (table: 'article' | 'story', id: string) =>
    table === 'article'
      ? (await prisma.article.findUniqueOrThrow({ where: { id: dbId(id) } })).version
      : (await prisma.story.findUniqueOrThrow({ where: { id: dbId(id) } })).version;

  /** The outcome of one request: its result type (and code), or its errors' codes. */
  function outcome(result: { errors?: readonly { extensions?: { code?: unknown } }[]; data?: unknown }): string {
    if (result.errors?.length) return `error:${result.errors.map((e) => e.extensions?.code).join(',')}`;
    return Object.values(result.data as Record<string, { __typename: string }>)[0]!.__typename;
  }

  it('merges both ways, detaches, sets leads, trashes and restores members at once: typed answers, no deadlock, stories that add up', async () => {
    const before = await deadlocks();
    const seen: string[] = [];
    for (let round = 0; round < (serverUrl ? 6 : 1); round++) {
      const a = await storyOf(`cra${round}x`, 6);
      const b = await storyOf(`crb${round}x`, 6);
      // one member of each is in the trash, pinned to its story: restoring it rejoins the story
      for (const trashed of [a.members[5]!, b.members[5]!])
        expect((await execute(Delete, { input: { id: trashed } }, as.editor)).data?.deleteArticle.__typename).toBe(
          'DeleteArticleSuccess',
        );
      const [va, vb] = [await versionOf('story', a.story), await versionOf('story', b.story)];
      const requests: Promise<string>[] = [];
      for (const [one, other, version, otherVersion] of [
        [a, b, va, vb],
        [b, a, vb, va],
      ] as const) {
        requests.push(
          execute(
            Merge,
            { input: { sourceIds: [one.story], targetId: other.story, expectedVersion: otherVersion } },
            as.editor,
          ).then(outcome),
          execute(
            Detach,
            { input: { articleId: one.members[1]!, expectedVersion: await versionOf('article', one.members[1]!) } },
            as.editor,
          ).then(outcome),
          execute(
            Lead,
            { input: { storyId: one.story, articleId: one.members[2]!, expectedVersion: version } },
            as.editor,
          ).then(outcome),
          execute(Delete, { input: { id: one.members[0]! } }, as.editor).then(outcome),
          execute(Delete, { input: { id: one.members[3]! } }, as.editor).then(outcome),
          execute(Restore, { input: { id: one.members[5]! } }, as.editor).then(outcome),
          execute(
            Update,
            {
              input: {
                id: one.members[4]!,
                expectedVersion: await versionOf('article', one.members[4]!),
                publishedAt: '2026-03-01T00:00:00Z',
              },
            },
            as.editor,
          ).then(outcome),
        );
      }
      const results = await Promise.all(requests);
      seen.push(...results);
      // a lost race is a typed answer (a version moved, a story merged away), never an error
      expect(results.filter((r) => r.startsWith('error:'))).toEqual([]);
      expect(results.filter((r) => r === 'DeleteArticleSuccess' || r === 'RestoreArticleSuccess')).toHaveLength(6);
    }
    // every story has a member, counts them, and leads with one of them
    const [broken] = await prisma.$queryRaw<{ empty: number; miscounted: number; strayLead: number }[]>`
      SELECT
        (SELECT count(*)::int FROM "Story" s WHERE NOT EXISTS (SELECT 1 FROM "Article" a WHERE a."storyId" = s."id")) AS "empty",
        (SELECT count(*)::int FROM "Story" s
          WHERE s."articleCount" <> (SELECT count(*) FROM "Article" a WHERE a."storyId" = s."id")) AS "miscounted",
        (SELECT count(*)::int FROM "Story" s
          WHERE NOT EXISTS (SELECT 1 FROM "Article" a WHERE a."id" = s."leadId" AND a."storyId" = s."id")) AS "strayLead"`;
    expect(broken).toEqual({ empty: 0, miscounted: 0, strayLead: 0 });
    // the lock order leaves PostgreSQL no cycle to break (a retry is only the safety net)
    expect((await deadlocks()) - before).toBe(0);
    const tally = new Map<string, number>();
    for (const result of seen) tally.set(result, (tally.get(result) ?? 0) + 1);
    console.info('concurrent story corrections:', Object.fromEntries(tally));
  }, 120_000);

  it('reads the lead of a story whose articles go to the trash meanwhile: an article, or NOT_FOUND, never a null', async () => {
    const read = async (body: object) => {
      const response = await yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    };
    const codes: string[] = [];
    for (let round = 0; round < (serverUrl ? 6 : 2); round++) {
      const { story, members } = await storyOf(`lr${round}x`, 4);
      const version = await versionOf('story', story);
      expect(
        (
          await execute(
            Lead,
            { input: { storyId: story, articleId: members[2]!, expectedVersion: version } },
            as.editor,
          )
        ).data?.setStoryLead.__typename,
      ).toBe('SetStoryLeadSuccess');
      const queries = [
        'query ($id: ID!) { node(id: $id) { ... on Story { lead { id title } } } }',
        '{ stories(first: 20) { edges { node { lead { id } } } } }',
        '{ articles(first: 30, filter: { source: { startsWith: "Paper" } }) { edges { node { story { lead { id } } } } } }',
      ];
      let deleting = true;
      const deleted = Promise.all(members.map((id) => execute(Delete, { input: { id } }, as.editor))).finally(
        () => (deleting = false),
      );
      // reads of the lead for as long as the deletes run
      do {
        for (const answer of await Promise.all(queries.map((query) => read({ query, variables: { id: story } }))))
          for (const error of answer.errors ?? []) codes.push(String(error.extensions?.code));
      } while (deleting);
      for (const result of await deleted) expect(result.data?.deleteArticle.__typename).toBe('DeleteArticleSuccess');
    }
    // a lead read by id after the story: when it went to the trash in between, the story's lead now
    expect(codes.filter((code) => code !== 'NOT_FOUND')).toEqual([]);
  }, 120_000);

  it('moves the dates of members while copies of them are filed: no deadlock, every copy in the story', async () => {
    const before = await deadlocks();
    for (let round = 0; round < (serverUrl ? 3 : 1); round++) {
      const body = wire(`cdt${round}x`).join('\n\n');
      const members = [];
      for (let i = 0; i < 6; i++)
        members.push(
          await file({ title: `Dated ${round} ${i}`, body, tag: `cdt${round}`, publishedAt: '2026-03-02T00:00:00Z' }),
        );
      expect(new Set(members.map((member) => member.story.id)).size).toBe(1);
      // a date change locks the story in its UPDATE; a copy holds the detector's buckets and waits for the story
      const results = await Promise.all([
        ...members.map(async (member, i) =>
          outcome(
            await execute(
              Update,
              {
                input: {
                  id: member.id,
                  expectedVersion: await versionOf('article', member.id),
                  publishedAt: `2026-03-02T0${i + 1}:00:00Z`,
                },
              },
              as.editor,
            ),
          ),
        ),
        ...Array.from({ length: 12 }, async (_, i) =>
          outcome(
            await execute(
              Create,
              {
                input: {
                  title: `Dated copy ${round} ${i}`,
                  url: `https://stories.example/dated/${round}/${i}`,
                  source: `Copy Desk ${i}`,
                  publishedAt: '2026-03-02T03:00:00Z',
                  priority: 3,
                  body,
                  topics: [{ name: `cdt${round}` }],
                },
              },
              as.editor,
            ),
          ),
        ),
      ]);
      expect(results.filter((r) => r.startsWith('error:'))).toEqual([]);
      expect(results.filter((r) => r === 'UpdateArticleSuccess' || r === 'CreateArticleSuccess')).toHaveLength(18);
      const story = await prisma.story.findUniqueOrThrow({ where: { id: dbId(members[0]!.story.id) } });
      expect(story.articleCount).toBe(18);
    }
    expect((await deadlocks()) - before).toBe(0);
  }, 120_000);

  it('trashes every member of a story at once, and detaches them: the lead passes on without a deadlock', async () => {
    const before = await deadlocks();
    for (let round = 0; round < (serverUrl ? 8 : 1); round++) {
      const { story, members } = await storyOf(`crd${round}x`, 8);
      // each delete of the lead hands the lead to the next member, which another request holds
      const results = await Promise.all(
        members.map(async (id, i) =>
          i % 2 === 0
            ? outcome(await execute(Delete, { input: { id } }, as.editor))
            : outcome(
                await execute(
                  Detach,
                  { input: { articleId: id, expectedVersion: await versionOf('article', id) } },
                  as.editor,
                ),
              ),
        ),
      );
      expect(results.filter((r) => r.startsWith('error:'))).toEqual([]);
      expect(results.filter((r) => r === 'DeleteArticleSuccess')).toHaveLength(4);
      expect(await prisma.story.count({ where: { id: dbId(story), articles: { none: {} } } })).toBe(0);
    }
    expect((await deadlocks()) - before).toBe(0);
  }, 120_000);
});

describe.skipIf(!serverUrl)('concurrent copies (PostgreSQL server)', () => {
  it('two copies joining one story at once never stretch it past the window', async () => {
    for (let round = 0; round < 6; round++) {
      const [first, second] = [wire(`sa${round}`, 3), wire(`sb${round}`, 3)];
      const at = (hours: number) => new Date(Date.UTC(2026, 7, 10) + hours * 3_600_000).toISOString();
      const whole = await file({
        title: `Span ${round}`,
        body: [...first, ...second].join('\n\n'),
        publishedAt: at(0),
        tag: `sp${round}`,
      });
      const [later, earlier] = await Promise.all([
        file({
          title: `Harbour dredging resumes ${round}q`,
          body: first.join('\n\n'),
          publishedAt: at(60),
          tag: `spl${round}`,
        }),
        file({
          title: `Wheat exports climb ${round}z`,
          body: second.join('\n\n'),
          publishedAt: at(-60),
          tag: `spe${round}`,
        }),
      ]);
      for (const id of [whole.id, later.id, earlier.id]) {
        const story = (await execute(StoryOf, { id })).data!.article!.story;
        expect(Date.parse(story.lastPublishedAt) - Date.parse(story.firstPublishedAt)).toBeLessThanOrEqual(
          72 * 3_600_000,
        );
      }
    }
  });

  it('a copy whose matching story is deleted while it is filed joins where that article went', async () => {
    const body = wire('gone').join('\n\n');
    const original = await file({ title: 'Gone original', body, tag: 'gone1' });
    const other = await file({ title: 'Gone target', body: wire('gt').join('\n\n'), tag: 'gone2' });
    // another writer moves the original away, emptying (and so deleting) its story, and commits late
    const moving = prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE "Article" SET "storyId" = ${dbId(other.story.id)} WHERE "id" = ${dbId(original.id)}`;
      await new Promise((resolve) => setTimeout(resolve, 700));
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const copy = await file({ title: 'Gone copy', body, tag: 'gone3' });
    await moving;
    expect(copy.story.id).toBe(other.story.id);
    expect(copy.story.articleCount).toBe(3);
  });

  it('copies filed while their story is merged away join the merged story, never a 500', async () => {
    for (let round = 0; round < 8; round++) {
      const body = wire(`mr${round}`).join('\n\n');
      const source = await file({ title: `Merge race ${round}`, body, tag: `mr${round}` });
      const target = await file({
        title: `Merge race target ${round}`,
        body: wire(`mt${round}`).join('\n\n'),
        tag: `mt${round}`,
      });
      const [merged, ...copies] = await Promise.all([
        execute(
          Merge,
          { input: { sourceIds: [source.story.id], targetId: target.story.id, expectedVersion: target.story.version } },
          as.editor,
        ),
        ...Array.from({ length: 5 }, (_, i) =>
          execute(
            Create,
            {
              input: {
                title: `Merge race copy ${round}.${i}`,
                url: `https://stories.example/mr/${round}/${i}`,
                source: 'Race Times',
                publishedAt: '2026-03-02T00:00:00Z',
                priority: 3,
                body,
                topics: [{ name: `mr${round}-${i}` }],
              },
            },
            as.editor,
          ),
        ),
      ]);
      expect(merged.status).toBe(200);
      expect(merged.data?.mergeStories.__typename).toBe('MergeStoriesSuccess');
      for (const copy of copies)
        expect(copy.data?.createArticle.__typename, JSON.stringify(copy)).toBe('CreateArticleSuccess');
      // all in the merged story, counted
      const story = (await execute(StoryOf, { id: source.id })).data!.article!.story;
      expect(story).toMatchObject({ id: target.story.id, articleCount: 7 });
    }
    expect(await prisma.story.count({ where: { articles: { none: {} } } })).toBe(0);
  });

  it('copies of one new story filed at once make one story', async () => {
    for (let round = 0; round < 5; round++) {
      const body = wire(`cc${round}`).join('\n\n');
      const filed = await Promise.all(
        Array.from({ length: 6 }, (_, i) => file({ title: `Concurrent ${round}.${i}`, body, tag: `cc${round}-${i}` })),
      );
      expect(new Set(filed.map((article) => article.story.id)).size).toBe(1);
      const story = (await execute(StoryOf, { id: filed[0]!.id })).data!.article!.story;
      expect(story.articleCount).toBe(6);
    }
  });
});

describe('story detection of a bulk import (one batch: upsertArticles)', () => {
  const editor: Viewer = { kind: 'apiKey', keyId: 0, name: 'stories-bulk', role: 'EDITOR' };
  const HOUR = 3_600_000;
  const boilerplate = 'Distributed by Wirecorp. Subscribe for more.';
  /**
   * Two articles already filed (one by one), then records of one import: copies of each near the
   * window's edges (found only through the database's candidates), copies of the first, a story of the batch's own with a copy in the window and
   * one outside it, a near-miss, short texts matched by title, and more copies of the second than
   * a bucket's candidates (published before it, so they would fill its bucket's range).
   */
  function scenario(tag: string, base: number) {
    const at = (hours: number) => new Date(base + hours * HOUR);
    const text = (seed: string) => wire(`${tag}${seed}`);
    const record = (i: number, title: string, body: string | undefined, hours: number): CreateArticleInput => ({
      title,
      url: `https://bulk-stories.example/${tag}/${i}`,
      source: `Paper ${i}`,
      publishedAt: at(hours),
      priority: 3,
      body,
      topics: [{ name: 'Bulk stories' }],
    });
    const anchors = [
      record(1000, 'Bulk anchor story', text('a').join('\n\n'), 0),
      record(1001, 'Crowded anchor story', text('c').join('\n\n'), 0),
    ];
    const s1 = text('s1');
    const records = [
      // first in the batch, so only the database's candidates can place them: near the window's edges
      record(100, 'Anchor copy, days before', text('a').join('\n\n'), -60),
      record(101, 'Crowded anchor copy, days after', text('c').join('\n\n'), 65),
      record(0, 'Anchor copy', [boilerplate, ...text('a').slice(0, 4)].join('\n\n'), 1),
      record(1, 'Story one', s1.join('\n\n'), 2),
      record(2, 'Story one again', [boilerplate, ...s1.slice(1)].join('\n\n'), 3),
      record(3, 'Near miss', [boilerplate, ...text('nm')].join('\n\n'), 3),
      record(4, 'Story one, days later', s1.join('\n\n'), 100),
      record(5, 'Ferry strike halts harbour services', undefined, 5),
      record(6, 'Ferry strike halts harbour services', undefined, 6),
      record(7, 'Anchor copy two', text('a').slice(1).join('\n\n'), 4),
      record(8, 'Story one, days later, copied', s1.slice(0, 5).join('\n\n'), 101),
      record(9, 'Story one, two days on', s1.join('\n\n'), 50),
      ...Array.from({ length: CANDIDATES_PER_BUCKET + 10 }, (_, k) =>
        record(10 + k, `Crowded copy ${k}`, text('c').join('\n\n'), -1),
      ),
    ];
    return { anchors, records };
  }
  /** The records' stories as a partition of their indexes (each group by its first member, -1 for an anchor's story). */
  async function partition(anchorIds: number[], ids: number[]) {
    const rows = await prisma.article.findMany({
      where: { id: { in: [...anchorIds, ...ids] } },
      select: { id: true, storyId: true },
    });
    const story = new Map(rows.map((row) => [row.id, row.storyId]));
    const label = new Map<number, string>(anchorIds.map((id, i) => [story.get(id)!, `anchor${i}`]));
    return ids.map((id, i) => {
      const storyId = story.get(id)!;
      if (!label.has(storyId)) label.set(storyId, `record${i}`);
      return label.get(storyId)!;
    });
  }

  it('places every record where filing them one by one does, against filed articles and within the batch', async () => {
    // one by one
    const single = scenario('one', Date.parse('2024-06-01T00:00:00Z'));
    const singleAnchors = [];
    for (const input of single.anchors) singleAnchors.push((await upsertArticle(prisma, input, editor)).id);
    const singleIds = [];
    for (const input of single.records) singleIds.push((await upsertArticle(prisma, input, editor)).id);
    // the same texts two years earlier (no story reaches across), the records as one batch
    const bulk = scenario('bulk', Date.parse('2022-06-01T00:00:00Z'));
    const bulkAnchors = [];
    for (const input of bulk.anchors) bulkAnchors.push((await upsertArticle(prisma, input, editor)).id);
    const results = await upsertArticles(
      prisma,
      bulk.records.map((input) => ({ input })),
      editor,
    );
    expect(results.every((result) => result.status === 'created')).toBe(true);
    const bulkIds = results.map((result) => (result.status === 'created' ? result.id : 0));

    const expected = [
      'anchor0',
      'anchor1',
      'anchor0',
      'record3',
      'record3',
      'record5',
      'record6',
      'record7',
      'record7',
      'anchor0',
      'record6',
      'record3',
      ...Array.from({ length: CANDIDATES_PER_BUCKET + 10 }, () => 'anchor1'),
    ];
    expect(await partition(singleAnchors, singleIds)).toEqual(expected);
    expect(await partition(bulkAnchors, bulkIds)).toEqual(expected);
    // every fingerprint and bucket stored once, as one by one
    const stored = async (ids: number[]) =>
      Promise.all([
        prisma.articleFingerprint.count({ where: { articleId: { in: ids } } }),
        prisma.articleBand.count({ where: { articleId: { in: ids } } }),
      ]);
    expect(await stored(bulkIds)).toEqual(await stored(singleIds));
  });
});

it('refuses bad input to the story fields without a 500', async () => {
  const result = await execute(Collapsed, { first: 101, filter: {} });
  expect(codes(result)).toEqual(['INVALID_PAGE_SIZE']);
  const wrongType = await execute(StoryOf, { id: Buffer.from('Story:1').toString('base64') });
  expect(codes(wrongType)).toEqual(['INVALID_ID']);
});
