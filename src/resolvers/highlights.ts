import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { Db } from '../db/client.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import { codePoints } from '../input/text.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { SEARCH_CONFIG, tsQuery } from './search.ts';

/**
 * Highlighted snippets of search results, made by PostgreSQL's ts_headline next to the data:
 * the text (a 4 KB body, say) never travels to Node, only the snippet. One statement per
 * request and distinct highlight options, for every result on the page (DataLoader).
 *
 * PostgreSQL marks matches with two private-use characters (removed from the text first), so
 * the client's markers never pass through ts_headline's option parser, and the text between
 * markers can be HTML-escaped here without escaping the markers.
 */

export type HighlightField = 'TITLE' | 'DESCRIPTION' | 'SUMMARY' | 'BODY';

export interface HighlightOptions {
  field: HighlightField;
  startMarker: string;
  stopMarker: string;
  escapeHtml: boolean;
  maxWords: number;
  maxFragments: number;
}

const START = '\uE000';
const STOP = '\uE001';
const COLUMNS: Record<HighlightField, string> = {
  TITLE: 'title',
  DESCRIPTION: 'description',
  SUMMARY: 'summary',
  BODY: 'body',
};
export const HIGHLIGHT_LIMITS = { maxMarkerLength: 32, minWords: 3, maxWords: 100, maxFragments: 5 } as const;

export function checkHighlightOptions(options: HighlightOptions): HighlightOptions {
  const fail = (argumentName: string, message: string): never => {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${argumentName}" ${message}`, { argumentName });
  };
  for (const name of ['startMarker', 'stopMarker'] as const) {
    if (codePoints(options[name]) > HIGHLIGHT_LIMITS.maxMarkerLength)
      fail(name, `must be at most ${HIGHLIGHT_LIMITS.maxMarkerLength} characters`);
  }
  const { minWords, maxWords, maxFragments } = HIGHLIGHT_LIMITS;
  if (!Number.isInteger(options.maxWords) || options.maxWords < minWords || options.maxWords > maxWords)
    fail('maxWords', `must be between ${minWords} and ${maxWords}`);
  if (!Number.isInteger(options.maxFragments) || options.maxFragments < 0 || options.maxFragments > maxFragments)
    fail('maxFragments', `must be between 0 and ${maxFragments}`);
  return options;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Replaces PostgreSQL's sentinel marks with the client's markers, escaping the text if asked. */
export function renderHighlight(marked: string, options: HighlightOptions): string {
  const escape = options.escapeHtml
    ? (text: string) => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!)
    : (text: string) => text;
  const plain = (text: string) => escape(text.replaceAll(STOP, ''));
  const [before, ...matches] = marked.split(START);
  let out = plain(before!);
  for (const part of matches) {
    const stop = part.indexOf(STOP);
    if (stop < 0) out += plain(part);
    else out += options.startMarker + escape(part.slice(0, stop)) + options.stopMarker + plain(part.slice(stop + 1));
  }
  return out;
}

function headlineOptions(options: HighlightOptions): string {
  const minWords = Math.max(1, Math.min(15, options.maxWords - 1));
  // Numbers are validated integers; the sentinels are fixed characters. No client text here.
  return [
    `StartSel=${START}`,
    `StopSel=${STOP}`,
    `MaxWords=${options.maxWords}`,
    `MinWords=${minWords}`,
    `MaxFragments=${options.maxFragments}`,
    'FragmentDelimiter=" … "',
  ].join(', ');
}

function highlightLoader(db: Db, search: string, options: HighlightOptions) {
  const column = Prisma.raw(`a."${COLUMNS[options.field]}"`);
  return new DataLoader<number, string | null>(async (ids) => {
    const rows = await db.$queryRaw<{ id: number; headline: string }[]>`
      SELECT a."id", ts_headline(${Prisma.raw(`'${SEARCH_CONFIG}'`)}, translate(${column}, ${START + STOP}, ''),
                                 ${tsQuery(search)}, ${headlineOptions(options)}) AS "headline"
      FROM "Article" a
      WHERE a."id" IN (${Prisma.join([...ids])})`;
    const byId = new Map(rows.map((row) => [row.id, row.headline]));
    return ids.map((id) => {
      const headline = byId.get(id);
      return headline ? renderHighlight(headline, options) : null;
    });
  });
}

const loaders = createContextCache(() => new Map<string, DataLoader<number, string | null>>());

/** The snippet of `articleId`'s field for `search`, batched with the other results of the request. */
export function highlight(
  context: object,
  db: Db,
  search: string,
  articleId: number,
  options: HighlightOptions,
): Promise<string | null> {
  const perRequest = loaders(context);
  const key = JSON.stringify([search, options]);
  let loader = perRequest.get(key);
  if (!loader) {
    loader = highlightLoader(db, search, checkHighlightOptions(options));
    perRequest.set(key, loader);
  }
  return loader.load(articleId);
}
