import DataLoader from 'dataloader';
import type { Db } from '../../db/client.ts';
import { ErrorCode, UserInputError } from '../../errors.ts';
import { codePoints } from '../../input/text.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { requestLoader } from '../lists/loaders.ts';
import { SEARCH_CONFIG, tsQuery } from './search.ts';

/**
 * Highlighted snippets of search results, made by PostgreSQL's ts_headline next to the data:
 * the text (a 4 KB body, say) never travels to Node, only the snippet. One statement per page
 * (DataLoader) for every highlight setting the request asks, and a few settings per request.
 *
 * PostgreSQL marks matches with two private-use characters (removed from the text first), so
 * the client's markers never pass through ts_headline's option parser, and the text between
 * markers can be HTML-escaped here without escaping the markers.
 */

/** The text field a highlight is taken from (GraphQL enum HighlightField). */
export type HighlightField = 'TITLE' | 'DESCRIPTION' | 'SUMMARY' | 'BODY';

/**
 * The arguments of `ArticleEdge.highlight`: markers put around matches, HTML escaping of the text,
 * words per fragment and fragments per excerpt (0: one excerpt around the best match).
 */
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
/**
 * Bounds of the highlight arguments: markers in characters (code points), maxWords 3-100 and
 * maxFragments 0-5.
 */
export const HIGHLIGHT_LIMITS = { maxMarkerLength: 32, minWords: 3, maxWords: 100, maxFragments: 5 } as const;

/**
 * Characters of a field that ts_headline reads: its work grows with the text (about 6 MB/s on
 * the embedded database, and with the query), so an excerpt comes from the first 10,000 characters, as search
 * engines bound highlighting (Elasticsearch's `index.highlight.max_analyzed_offset`).
 */
export const HIGHLIGHT_MAX_ANALYZED = 10_000;

/**
 * Returns `options` unchanged when within HIGHLIGHT_LIMITS, else throws UserInputError
 * BAD_USER_INPUT naming the argument (`argumentName`).
 */
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

function headlineOptions(options: HeadlineSpec): string {
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

/** What the database computes for a highlight; the markers and escaping are applied here after. */
type HeadlineSpec = Pick<HighlightOptions, 'field' | 'maxWords' | 'maxFragments'>;

/** Different (search, field, maxWords, maxFragments) one request may ask highlights for. */
export const MAX_HIGHLIGHT_SETTINGS = 4;

/**
 * One loader per search: a batch holds the page's articles for every highlight setting asked,
 * and is one statement that computes each setting only for the articles it was asked for.
 */
function highlightLoader(db: Db, search: string) {
  return new DataLoader<{ id: number; spec: HeadlineSpec }, string | null, string>(
    async (keys) => {
      const specs = new Map<string, { spec: HeadlineSpec; ids: Set<number> }>();
      for (const { id, spec } of keys) {
        const name = specKey(spec);
        let entry = specs.get(name);
        if (!entry) specs.set(name, (entry = { spec, ids: new Set() }));
        entry.ids.add(id);
      }
      const ids = [...new Set(keys.map((key) => key.id))];
      const entries = [...specs.values()];
      const query = tsQuery(search);
      const columns = entries.map(({ spec, ids: wanted }, index) => {
        const column = Prisma.raw(`a."${COLUMNS[spec.field]}"`);
        return Prisma.sql`CASE WHEN a."id" = ANY(${[...wanted]}::int[])
          THEN ts_headline(${Prisma.raw(`'${SEARCH_CONFIG}'`)}, translate(left(${column}, ${HIGHLIGHT_MAX_ANALYZED}), ${START + STOP}, ''), ${query}, ${headlineOptions(spec)})
          END AS ${Prisma.raw(`"h${index}"`)}`;
      });
      const rows = await db.$queryRaw<Record<string, number | string | null>[]>`
        SELECT a."id", ${Prisma.join(columns)}
        FROM "Article" a
        WHERE a."id" = ANY(${ids}::int[])`;
      const byKey = new Map<string, string | null>();
      for (const row of rows) {
        entries.forEach(({ spec }, index) =>
          byKey.set(`${row.id}|${specKey(spec)}`, (row[`h${index}`] as string) || null),
        );
      }
      return keys.map(({ id, spec }) => byKey.get(`${id}|${specKey(spec)}`) ?? null);
    },
    { cacheKeyFn: ({ id, spec }) => `${id}|${specKey(spec)}` },
  );
}

function specKey(spec: HeadlineSpec): string {
  return `${spec.field}/${spec.maxWords}/${spec.maxFragments}`;
}

/** Per request: the settings asked so far (at most MAX_HIGHLIGHT_SETTINGS). */
const settingsAsked = new WeakMap<object, Set<string>>();

/**
 * The snippet of `articleId`'s field for `search`, batched with the other results of the
 * request: one statement per page for all highlight settings. Throws BAD_USER_INPUT for
 * options out of range (checkHighlightOptions) and past MAX_HIGHLIGHT_SETTINGS settings.
 */
export function highlight(
  context: object,
  db: Db,
  search: string,
  articleId: number,
  options: HighlightOptions,
): Promise<string | null> {
  let settings = settingsAsked.get(context);
  if (!settings) settingsAsked.set(context, (settings = new Set()));
  const { field, maxWords, maxFragments } = checkHighlightOptions(options);
  const spec = { field, maxWords, maxFragments };
  const setting = JSON.stringify([search, specKey(spec)]);
  if (!settings.has(setting)) {
    if (settings.size >= MAX_HIGHLIGHT_SETTINGS) {
      throw new UserInputError(
        ErrorCode.BAD_USER_INPUT,
        `At most ${MAX_HIGHLIGHT_SETTINGS} different highlight settings (search, field, maxWords, maxFragments) per request; markers and escapeHtml may differ freely`,
        { max: MAX_HIGHLIGHT_SETTINGS },
      );
    }
    settings.add(setting);
  }
  const loader = requestLoader(context, `highlight:${search}`, () => highlightLoader(db, search));
  return loader.load({ id: articleId, spec }).then((marked) => (marked ? renderHighlight(marked, options) : null));
}
