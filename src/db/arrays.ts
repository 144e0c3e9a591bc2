/**
 * Large array parameters for raw statements, as one text parameter each.
 *
 * Prisma's `$queryRaw` encodes every element of an array parameter on its own: a JSON round
 * trip of the whole argument list, a validity check per Date (`toString()`), then the driver
 * adapter's conversion and node-postgres' array serializer. For the bulk import's arrays
 * (thousands of story buckets per batch) that cost more of the command's CPU than everything
 * else it does. One literal in PostgreSQL's array syntax is one string to Prisma, and one
 * array input conversion (C) to PostgreSQL. Instants go as integers too (milliseconds since the
 * epoch, `'epoch'::timestamptz + n * interval '1 millisecond'` in the statement, exact), which
 * print far cheaper than ISO 8601 text.
 */

/**
 * `values` as a PostgreSQL array literal (`{1,2,3}`; see "Array Value Input",
 * https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO), to be cast in the statement:
 * `${intArray(ids)}::int[]`. Throws RangeError on a value that is not a safe integer.
 */
export function intArray(values: readonly number[]): string {
  for (const value of values) {
    if (!Number.isSafeInteger(value)) throw new RangeError(`intArray: ${value} is not a safe integer`);
  }
  return `{${values.join(',')}}`;
}
