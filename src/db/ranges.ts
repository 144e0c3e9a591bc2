/**
 * PostgreSQL's integer column ranges (PostgreSQL 15 manual, 8.1.1 "Integer Types"): `integer`
 * (int4) holds -2147483648 to 2147483647, `smallint` (int2) -32768 to 32767. A value outside its
 * column's range fails the statement (SQLSTATE 22003, numeric_value_out_of_range), so every input
 * check that feeds a column, a cursor or an id refuses it first, from these constants.
 */
export const INT4 = { min: -2_147_483_648, max: 2_147_483_647 } as const;
/** `smallint` (int2): see INT4. */
export const INT2 = { min: -32_768, max: 32_767 } as const;
