declare module 'pg/lib/result.js' {
  interface FieldDescription {
    dataTypeID: number;
  }
  const Result: { prototype: { addFields(fields: FieldDescription[]): void } };
  export default Result;
}
