import { ErrorCode, UserInputError } from '../errors.ts';

/**
 * Instants given by clients: ISO 8601 / RFC 3339 strings, parsed strictly. A date must exist on
 * the calendar (2026-02-30 is refused, not rolled over to March), times are 00:00:00 to
 * 23:59:59 (no leap second, no 24:00), offsets at most ±23:59, and years 0001 to 9999 (what
 * ISO 8601's four digits hold; both PostgreSQL and JavaScript represent all of them). Digits
 * below the millisecond are kept as a flag, so that a filter bound can be rounded the way that
 * keeps its comparison true (see `boundMs`).
 */

/** Earliest year a DateTime may name (0001). */
export const MIN_YEAR = 1;
/** Latest year a DateTime may name: ISO 8601's four digits. */
export const MAX_YEAR = 9999;
/** The first and last instants (UTC, ms) a DateTime may name. */
const FIRST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A Date (millisecond precision, floor) that remembers whether its text had finer digits. */
export class Instant extends Date {
  constructor(
    ms: number,
    /** The text had non-zero digits below the millisecond: the exact instant is a little later. */
    readonly finerThanMs: boolean,
  ) {
    super(ms);
  }
}

const FORMAT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

function refuse(value: string, why: string): never {
  throw new UserInputError(ErrorCode.BAD_USER_INPUT, `DateTime "${value.slice(0, 40)}": ${why}`);
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Parses a DateTime: `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with `Z`
 * or an offset. Throws UserInputError BAD_USER_INPUT, saying what is wrong.
 */
export function parseInstant(value: unknown): Instant {
  if (typeof value !== 'string') refuse(String(value), 'must be a string such as 2026-04-07T01:24:00Z');
  const match = FORMAT.exec(value);
  if (!match) refuse(value, 'must be ISO 8601, such as 2026-04-07T01:24:00Z, with a time zone when a time is given');
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as number[];
  if (year! < MIN_YEAR || year! > MAX_YEAR) refuse(value, `the year must be from ${MIN_YEAR} to ${MAX_YEAR}`);
  if (month! < 1 || month! > 12) refuse(value, 'there is no such month');
  if (day! < 1 || day! > daysIn(year!, month!)) refuse(value, 'there is no such day in that month');
  if (hour! > 23 || minute! > 59 || second! > 59) refuse(value, 'there is no such time of day');
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) refuse(value, 'there is no such time zone offset');
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year!, month! - 1, day!);
  utc.setUTCHours(hour!, minute!, second!, Number(fraction.slice(0, 3).padEnd(3, '0')));
  const instant = new Instant(utc.getTime() - offsetMinutes * 60_000, /[1-9]/.test(fraction.slice(3)));
  // the offset can carry a date in year 0001 or 9999 out of the range (in UTC)
  const last = instant.finerThanMs ? LAST_MS - 1 : LAST_MS;
  if (instant.getTime() < FIRST_MS || instant.getTime() > last) {
    refuse(value, `must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z`);
  }
  return instant;
}

/**
 * The millisecond bound to compare stored (millisecond) instants with, so that the comparison
 * means what the client's finer bound meant: `lt`/`gte` a bound with finer digits round up
 * (x < 00.0005 holds for 00.000), `lte`/`gt` round down.
 */
export function boundMs(value: Date, operator: 'gt' | 'gte' | 'lt' | 'lte'): Date {
  const finer = value instanceof Instant && value.finerThanMs;
  return finer && (operator === 'lt' || operator === 'gte') ? new Date(value.getTime() + 1) : value;
}
