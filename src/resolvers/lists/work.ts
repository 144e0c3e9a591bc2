/**
 * What database work costs, in the units of the query cost (limits.ts), where one selected field
 * costs 1. A `text` condition is a trigram-index search over four columns and a recheck of every
 * candidate's text (bodies of many kilobytes); a `pattern` (`contains`, `startsWith`, a
 * `nameSearch`) searches one short column's trigram index; any other `condition` is an index or
 * row test; a `relation` condition is a semi-join through the byline or topic links; a full-text
 * `search` ranks matches; a `highlight` runs ts_headline over the field's text, per edge; a
 * `collapse` tests each candidate's story for an earlier matching member (and counts distinct
 * stories).
 * AND, OR and NOT cost the sum of what they hold: each branch is a search of its own. How
 * many of each one filter may hold is bounded too (FILTER_LIMITS: conditions, relations, objects).
 */
export const WORK_COSTS = {
  text: 5_000,
  pattern: 20,
  condition: 2,
  relation: 1_000,
  search: 200,
  highlight: 25,
  collapse: 200,
} as const;
