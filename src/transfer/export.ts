import { initContextCache } from '@pothos/core';
import { execute, parse } from 'graphql';
import type { Context } from '../context.ts';
import { intArray } from '../db/arrays.ts';
import { prisma } from '../db/client.ts';
import { codeClientError } from '../clientErrors.ts';
import { databaseFailure } from '../db/errors.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import { MAX_INPUT_VALUES, normalizeDeep } from '../input/boundary.ts';
import { characterProblem, inputShape } from '../input/text.ts';
import type { Viewer } from '../resolvers/access/viewer.ts';
import { decodeGlobalID } from '../schema/builder.ts';
import { schema } from '../schema/index.ts';

/**
 * Bulk export: the articles `articles(filter:, search:)` lists, as import records (the field names
 * of CreateArticleInput, authors in byline order and topics as names, plus `story`, `storyPinned`
 * and `storyLead`, `separatedFrom` and `separatedBy`), in keyset
 * order (publication, then id, oldest first), read a page at a time through the schema's own
 * `articles` field: the filter and search mean exactly what they mean there, and memory holds one
 * page. `story` is the URL of the story's earliest-published article (its first in this order), so
 * importing the records in order rebuilds the stories; `storyPinned` (an editor placed the article
 * there) and `storyLead` (an editor chose it as its story's lead) carry the editors' decisions.
 * So do `separatedFrom`, the URLs of the articles an editor took this one away from
 * (detachArticle: its `separatedFrom` column), and `separatedBy`, the URLs of the articles an
 * editor took away from this one (whose `separatedFrom` names it): each separation is written on
 * both of its articles, so the import restores it when it files the later of the two, whichever
 * that is and whatever the filter left out. Articles in the trash are never named.
 */

/** One exported article, in the import format. */
export type ExportRecord = Record<string, unknown>;

const PAGE = parse(`
  query ExportPage($filter: ArticleFilter, $search: String, $after: String, $first: Int) {
    articles(filter: $filter, search: $search, after: $after, first: $first,
             orderBy: [{ field: PUBLISHED_AT, direction: ASC }]) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id title url source publishedAt priority isAustralian description summary body
          authors { name }
          topics { name }
          storyPinned
          story {
            leadChosen lead { url }
            articles(first: 1, orderBy: [{ field: PUBLISHED_AT, direction: ASC }]) { edges { node { url } } }
          }
        }
      }
    }
  }`);

interface PageNode {
  id: string;
  title: string;
  url: string;
  source: string;
  publishedAt: string | Date;
  priority: number;
  isAustralian: boolean;
  description: string;
  summary: string;
  body: string;
  authors: { name: string }[];
  topics: { name: string }[];
  storyPinned: boolean;
  story: { leadChosen: boolean; lead: { url: string } | null; articles: { edges: { node: { url: string } }[] } };
}

interface PageData {
  articles: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: PageNode }[] };
}

/**
 * Articles per page at most; a page whose text passes the response's limit (RESPONSE_TOO_LARGE:
 * long bodies) is read again a fifth as large, down to one article, and pages grow back after.
 */
const PAGE_SIZE = 100;

/**
 * The separations of the articles `ids` (an export page), by article id: `from`, the URLs of the
 * articles its `separatedFrom` names, and `by`, the URLs of the articles whose `separatedFrom` names
 * it; each list in article id order, only articles that exist (not trashed). One statement: the
 * second half is one probe of the GIN index on `separatedFrom` for the whole page.
 */
async function separationsOf(ids: number[]): Promise<Map<number, { from: string[]; by: string[] }>> {
  const found = new Map<number, { from: string[]; by: string[] }>();
  if (!ids.length) return found;
  const rows = await prisma.$queryRaw<{ way: 'from' | 'by'; articleId: number; url: string }[]>`
    SELECT 'from' AS "way", a."id" AS "articleId", o."id" AS "otherId", o."url"
    FROM "Article" a JOIN "Article" o ON o."id" = ANY(a."separatedFrom")
    WHERE a."id" = ANY(${intArray(ids)}::int[]) AND a."separatedFrom" <> '{}'
    UNION ALL
    SELECT 'by', x."id", o."id", o."url"
    FROM "Article" o CROSS JOIN LATERAL unnest(o."separatedFrom") AS x("id")
    WHERE o."separatedFrom" && ${intArray(ids)}::int[] AND x."id" = ANY(${intArray(ids)}::int[])
    ORDER BY 2, 3`;
  for (const row of rows) {
    const lists = found.get(row.articleId) ?? { from: [], by: [] };
    lists[row.way].push(row.url);
    found.set(row.articleId, lists);
  }
  return found;
}

/** The filter and search of an export, as `articles` takes them (`filter` in its JSON form, global IDs in it). */
export interface ExportQuestion {
  filter?: Record<string, unknown> | null;
  search?: string | null;
}

/**
 * Deepest JSON nesting of an export's filter (objects and arrays): far past any filter
 * `articles(filter:)` accepts (AND/OR/NOT 5 deep, each with its fields' own levels).
 */
const MAX_FILTER_NESTING = 64;

/**
 * The records of every article the question lists, oldest first. Throws UserInputError
 * (BAD_USER_INPUT, INVALID_ID...) before the first record for a filter or search `articles`
 * refuses, a filter nested deeper than MAX_FILTER_NESTING or holding more than MAX_INPUT_VALUES
 * values (as the GraphQL endpoint's variables); a database failure throws where it happens.
 */
export async function* exportRecords(question: ExportQuestion, viewer: Viewer): AsyncGenerator<ExportRecord> {
  // nesting and size first, without recursion: a filter of 1,700 nested NOTs overflowed the
  // stack of what reads it (a RangeError, answered 500), and graphql-js coerces every value of
  // the filter again for each page, before any resolver refuses a list for its length
  const shape = inputShape(question.filter);
  if (shape.depth > MAX_FILTER_NESTING) {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `The filter is nested deeper than ${MAX_FILTER_NESTING} levels`);
  }
  if (shape.values > MAX_INPUT_VALUES) {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `The filter holds more than ${MAX_INPUT_VALUES} values`);
  }
  // the input boundary the GraphQL endpoint applies: text NFC, and none that text cannot hold
  question = normalizeDeep(question);
  const strings: unknown[] = [question.filter, question.search];
  while (strings.length) {
    const value = strings.pop();
    if (typeof value === 'string') {
      const problem = characterProblem(value);
      if (problem) throw new UserInputError(ErrorCode.BAD_USER_INPUT, `A filter or search value ${problem}`);
    } else if (value && typeof value === 'object') strings.push(...Object.values(value));
  }
  let after: string | null = null;
  let size = PAGE_SIZE;
  for (;;) {
    const contextValue = {
      ...initContextCache(),
      requestId: 'export',
      viewer,
      clientAddress: 'export',
    } satisfies Context;
    const result = await execute({
      schema,
      document: PAGE,
      variableValues: { filter: question.filter ?? null, search: question.search ?? null, after, first: size },
      contextValue,
    });
    if (result.errors?.length) {
      // a database failure throws as it is (the endpoint answers 503); the rest is coded as the
      // GraphQL endpoint codes it: a global ID Pothos refuses is INVALID_ID, not a fault
      const [failed] = result.errors;
      if (databaseFailure(failed!.originalError)) throw failed!.originalError;
      const error = codeClientError(failed!);
      const code = error.extensions?.code;
      if (code === ErrorCode.RESPONSE_TOO_LARGE && size > 1) {
        size = Math.max(1, Math.floor(size / 5));
        continue;
      }
      if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
        throw new UserInputError(code as never, error.message, error.extensions);
      }
      // no path: the variables did not coerce (a filter field or value ArticleFilter does not have)
      if (!error.path) throw new UserInputError(ErrorCode.BAD_USER_INPUT, error.message);
      throw error.originalError ?? error;
    }
    const page = (result.data as unknown as PageData).articles;
    const ids = page.edges.map(({ node }) => Number(decodeGlobalID(node.id).id));
    const separations = await separationsOf(ids);
    for (const [i, { node }] of page.edges.entries()) {
      const separated = separations.get(ids[i]!);
      yield {
        title: node.title,
        url: node.url,
        source: node.source,
        publishedAt: node.publishedAt instanceof Date ? node.publishedAt.toISOString() : node.publishedAt,
        priority: node.priority,
        isAustralian: node.isAustralian,
        description: node.description,
        summary: node.summary,
        body: node.body,
        authors: node.authors.map((author) => author.name),
        topics: node.topics.map((topic) => topic.name),
        story: node.story.articles.edges[0]?.node.url ?? node.url,
        storyPinned: node.storyPinned,
        storyLead: node.story.leadChosen && node.story.lead?.url === node.url,
        separatedFrom: separated?.from ?? [],
        separatedBy: separated?.by ?? [],
      };
    }
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
    after = page.pageInfo.endCursor;
    size = Math.min(PAGE_SIZE, size * 2);
  }
}
