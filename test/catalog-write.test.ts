import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import { execute } from './support/api.ts';
import { globalId } from './support/demo.ts';
import { callers, snapshot, type Caller } from './support/keys.ts';

const CreateAuthor = graphql(`
  mutation CreateAuthor($input: CreateAuthorInput!) {
    createAuthor(input: $input) {
      __typename
      ... on CreateAuthorSuccess {
        author {
          id
          name
          articleCount
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
const UpdateAuthor = graphql(`
  mutation UpdateAuthor($input: UpdateAuthorInput!) {
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
const DeleteAuthor = graphql(`
  mutation DeleteAuthor($input: DeleteAuthorInput!) {
    deleteAuthor(input: $input) {
      __typename
      ... on DeleteAuthorSuccess {
        deletedId
      }
      ... on InUseError {
        code
        articleCount
      }
    }
  }
`);
const MergeAuthors = graphql(`
  mutation MergeAuthors($input: MergeAuthorsInput!) {
    mergeAuthors(input: $input) {
      __typename
      ... on MergeAuthorsSuccess {
        author {
          id
          name
          articleCount
        }
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
      ... on NotFoundError {
        id
      }
    }
  }
`);
const CreateTopic = graphql(`
  mutation CreateTopic($input: CreateTopicInput!) {
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
const UpdateTopic = graphql(`
  mutation UpdateTopic($input: UpdateTopicInput!) {
    updateTopic(input: $input) {
      __typename
      ... on UpdateTopicSuccess {
        topic {
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
      ... on NotFoundError {
        id
      }
    }
  }
`);
const DeleteTopic = graphql(`
  mutation DeleteTopic($input: DeleteTopicInput!) {
    deleteTopic(input: $input) {
      __typename
      ... on InUseError {
        articleCount
      }
    }
  }
`);
const MergeTopics = graphql(`
  mutation MergeTopics($input: MergeTopicsInput!) {
    mergeTopics(input: $input) {
      __typename
      ... on MergeTopicsSuccess {
        topic {
          slug
          articleCount
        }
      }
    }
  }
`);

let as: Record<Caller, Record<string, string>>;
beforeAll(async () => {
  as = await callers();
});

let n = 0;
async function article(authors: string[], topics: string[] = []) {
  n += 1;
  const authorIds = [];
  for (const name of authors)
    authorIds.push(
      ((await prisma.author.findFirst({ where: { name } })) ?? (await prisma.author.create({ data: { name } }))).id,
    );
  const topicIds = [];
  for (const name of topics) {
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    topicIds.push((await prisma.topic.upsert({ where: { slug }, create: { name, slug }, update: {} })).id);
  }
  return prisma.article.create({
    data: {
      title: `Catalog ${n}`,
      url: `https://catalog.example/${n}`,
      urlKey: `https://catalog.example/${n}`,
      source: 'Catalog',
      publishedAt: new Date('2026-01-01T00:00:00Z'),
      priority: 2,
      authors: { create: authorIds.map((authorId, position) => ({ authorId, position })) },
      topics: { create: topicIds.map((topicId) => ({ topicId })) },
    },
  });
}

const bylineOf = async (articleId: number) =>
  (
    await prisma.articleAuthor.findMany({
      where: { articleId },
      orderBy: { position: 'asc' },
      include: { author: true },
    })
  ).map((row) => row.author.name);

describe('authors', () => {
  it('creates with a cleaned name and refuses a name taken in any case', async () => {
    const made = await execute(CreateAuthor, { input: { name: '  Jane   Q.  Reporter ' } }, as.editor);
    expect(made.data!.createAuthor.__typename === 'CreateAuthorSuccess' && made.data!.createAuthor.author.name).toBe(
      'Jane Q. Reporter',
    );
    const again = await execute(CreateAuthor, { input: { name: 'jane q. reporter' } }, as.editor);
    expect(again.data!.createAuthor.__typename === 'ValidationError' && again.data!.createAuthor.fields).toEqual([
      { path: ['input', 'name'], code: 'TAKEN' },
    ]);
    const long = await execute(CreateAuthor, { input: { name: 'x'.repeat(201) } }, as.editor);
    expect(long.data!.createAuthor.__typename === 'ValidationError' && long.data!.createAuthor.fields[0]!.code).toBe(
      'TOO_LONG',
    );
  });

  it('renames, refusing a name another author has', async () => {
    const a = await prisma.author.create({ data: { name: 'Rename Me' } });
    await prisma.author.create({ data: { name: 'Already There' } });
    const ok = await execute(UpdateAuthor, { input: { id: globalId('Author', a.id), name: 'Renamed' } }, as.editor);
    expect(ok.data!.updateAuthor.__typename === 'UpdateAuthorSuccess' && ok.data!.updateAuthor.author.name).toBe(
      'Renamed',
    );
    const clash = await execute(
      UpdateAuthor,
      { input: { id: globalId('Author', a.id), name: 'ALREADY THERE' } },
      as.editor,
    );
    expect(clash.data!.updateAuthor.__typename).toBe('ValidationError');
    const missing = await execute(
      UpdateAuthor,
      { input: { id: globalId('Author', 999999), name: 'Nobody' } },
      as.editor,
    );
    expect(missing.data!.updateAuthor.__typename).toBe('NotFoundError');
  });

  it('refuses to delete an author articles use (InUseError), deletes an unused one', async () => {
    const used = await article(['Busy Writer']);
    const busy = await prisma.author.findFirstOrThrow({ where: { name: 'Busy Writer' } });
    const before = await snapshot();
    const refused = await execute(DeleteAuthor, { input: { id: globalId('Author', busy.id) } }, as.admin);
    expect(refused.data!.deleteAuthor.__typename === 'InUseError' && refused.data!.deleteAuthor.articleCount).toBe(1);
    expect(await snapshot()).toEqual(before);
    await prisma.article.delete({ where: { id: used.id } });
    const deleted = await execute(DeleteAuthor, { input: { id: globalId('Author', busy.id) } }, as.admin);
    expect(deleted.data!.deleteAuthor.__typename).toBe('DeleteAuthorSuccess');
    expect(await prisma.author.findUnique({ where: { id: busy.id } })).toBeNull();
  });

  it('merges: bylines move to the target in order, duplicates collapse, sources go, articles are versioned', async () => {
    const one = await article(['M Source A', 'M Other', 'M Target']);
    const two = await article(['M Other', 'M Source B']);
    const three = await article(['M Source B', 'M Source A']);
    const ids = Object.fromEntries(
      (await prisma.author.findMany({ where: { name: { startsWith: 'M ' } } })).map((a) => [a.name, a.id]),
    );
    const result = await execute(
      MergeAuthors,
      {
        input: {
          sourceIds: [globalId('Author', ids['M Source A']!), globalId('Author', ids['M Source B']!)],
          targetId: globalId('Author', ids['M Target']!),
        },
      },
      as.admin,
    );
    const out = result.data!.mergeAuthors;
    expect(out.__typename === 'MergeAuthorsSuccess' && out.author).toMatchObject({ name: 'M Target', articleCount: 3 });
    expect(await bylineOf(one.id)).toEqual(['M Target', 'M Other']);
    expect(await bylineOf(two.id)).toEqual(['M Other', 'M Target']);
    expect(await bylineOf(three.id)).toEqual(['M Target']);
    expect(await prisma.author.count({ where: { name: { in: ['M Source A', 'M Source B'] } } })).toBe(0);
    expect((await prisma.article.findUniqueOrThrow({ where: { id: one.id } })).version).toBe(2);
    expect((await prisma.author.findFirstOrThrow({ where: { name: 'M Other' } })).articleCount).toBe(2);
  });

  it('refuses a merge into one of its sources, of unknown authors, and writes nothing', async () => {
    const a = await prisma.author.create({ data: { name: 'Merge Self' } });
    const before = await snapshot();
    const self = await execute(
      MergeAuthors,
      { input: { sourceIds: [globalId('Author', a.id)], targetId: globalId('Author', a.id) } },
      as.admin,
    );
    expect(self.data!.mergeAuthors.__typename === 'ValidationError' && self.data!.mergeAuthors.fields[0]!.code).toBe(
      'IS_TARGET',
    );
    const none = await execute(
      MergeAuthors,
      { input: { sourceIds: [], targetId: globalId('Author', a.id) } },
      as.admin,
    );
    expect(none.data!.mergeAuthors.__typename).toBe('ValidationError');
    const unknown = await execute(
      MergeAuthors,
      { input: { sourceIds: [globalId('Author', 999999)], targetId: globalId('Author', a.id) } },
      as.admin,
    );
    expect(unknown.data!.mergeAuthors.__typename === 'NotFoundError' && unknown.data!.mergeAuthors.id).toBe(
      globalId('Author', 999999),
    );
    expect(await snapshot()).toEqual(before);
  });
});

describe('topics', () => {
  it('creates with a slug from the name (or a given one), refusing taken names and bad slugs', async () => {
    const made = await execute(CreateTopic, { input: { name: 'Quantum   Sensing' } }, as.editor);
    expect(made.data!.createTopic.__typename === 'CreateTopicSuccess' && made.data!.createTopic.topic).toMatchObject({
      name: 'Quantum Sensing',
      slug: 'quantum-sensing',
    });
    const custom = await execute(CreateTopic, { input: { name: 'Café Policy', slug: 'cafe-policy-2' } }, as.editor);
    expect(custom.data!.createTopic.__typename === 'CreateTopicSuccess' && custom.data!.createTopic.topic.slug).toBe(
      'cafe-policy-2',
    );
    const taken = await execute(CreateTopic, { input: { name: 'quantum sensing' } }, as.editor);
    expect(
      taken.data!.createTopic.__typename === 'ValidationError' &&
        taken.data!.createTopic.fields.map((f) => `${f.path.join('.')}:${f.code}`),
    ).toEqual(['input.name:TAKEN']);
    const slugTaken = await execute(CreateTopic, { input: { name: 'Other', slug: 'quantum-sensing' } }, as.editor);
    expect(
      slugTaken.data!.createTopic.__typename === 'ValidationError' &&
        slugTaken.data!.createTopic.fields.map((f) => `${f.path.join('.')}:${f.code}`),
    ).toEqual(['input.slug:TAKEN']);
    const bad = await execute(CreateTopic, { input: { name: 'Fine', slug: 'Not A Slug!' } }, as.editor);
    expect(bad.data!.createTopic.__typename === 'ValidationError' && bad.data!.createTopic.fields[0]!.code).toBe(
      'INVALID_SLUG',
    );
  });

  it('makes a slug of at most 200 characters from a name whose letters expand, which it takes back as its own', async () => {
    // "ﷺ" is 18 letters and spaces under NFKC: 200 of them made a slug of 3,600 characters
    const slugOf = async (name: string) => {
      const made = await execute(CreateTopic, { input: { name } }, as.editor);
      const payload = made.data!.createTopic;
      if (payload.__typename !== 'CreateTopicSuccess') throw new Error(JSON.stringify(made));
      return payload.topic;
    };
    const first = await slugOf('ﷺ'.repeat(200));
    expect([...first.slug].length).toBeLessThanOrEqual(200);
    expect(first.slug).toMatch(/^[^-].*[^-]$/);
    // another name with the same first 200 characters of slug: numbered, within 200 too
    const second = await slugOf(`${'ﷺ'.repeat(198)} x`);
    expect([...second.slug].length).toBeLessThanOrEqual(200);
    expect(second.slug).toMatch(/-2$/);
    expect(second.slug.slice(0, -2)).toBe(first.slug.slice(0, second.slug.length - 2).replace(/-+$/, ''));
    // a slug the API made is one it takes back
    for (const topic of [first, second]) {
      const again = await execute(UpdateTopic, { input: { id: topic.id, slug: topic.slug } }, as.editor);
      expect(again.data!.updateTopic.__typename, topic.slug).toBe('UpdateTopicSuccess');
    }
  });

  it('renames with the slug following the name, and refuses empty changes', async () => {
    const topic = await prisma.topic.create({ data: { name: 'Old Name', slug: 'old-name' } });
    const renamed = await execute(
      UpdateTopic,
      { input: { id: globalId('Topic', topic.id), name: 'New Name' } },
      as.editor,
    );
    expect(renamed.data!.updateTopic.__typename === 'UpdateTopicSuccess' && renamed.data!.updateTopic.topic).toEqual({
      name: 'New Name',
      slug: 'new-name',
    });
    const empty = await execute(UpdateTopic, { input: { id: globalId('Topic', topic.id) } }, as.editor);
    expect(empty.data!.updateTopic.__typename === 'ValidationError' && empty.data!.updateTopic.fields[0]!.code).toBe(
      'NOTHING_TO_UPDATE',
    );
  });

  it('refuses to delete a topic in use, and merges topics collapsing duplicates', async () => {
    const a = await article([], ['T Source', 'T Target']);
    const b = await article([], ['T Source']);
    const source = await prisma.topic.findUniqueOrThrow({ where: { slug: 't-source' } });
    const target = await prisma.topic.findUniqueOrThrow({ where: { slug: 't-target' } });
    const refused = await execute(DeleteTopic, { input: { id: globalId('Topic', source.id) } }, as.admin);
    expect(refused.data!.deleteTopic.__typename === 'InUseError' && refused.data!.deleteTopic.articleCount).toBe(2);
    const merged = await execute(
      MergeTopics,
      { input: { sourceIds: [globalId('Topic', source.id)], targetId: globalId('Topic', target.id) } },
      as.admin,
    );
    expect(merged.data!.mergeTopics.__typename === 'MergeTopicsSuccess' && merged.data!.mergeTopics.topic).toEqual({
      slug: 't-target',
      articleCount: 2,
    });
    expect(await prisma.articleTopic.count({ where: { articleId: { in: [a.id, b.id] }, topicId: target.id } })).toBe(2);
    expect(await prisma.topic.findUnique({ where: { id: source.id } })).toBeNull();
  });
});
