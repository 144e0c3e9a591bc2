declare module 'pg/lib/result.js' {
  interface FieldDescription {
    dataTypeID: number;
  }
  /** pg's internal result class; decodeInternalCharAsText patches its `addFields`. */
  const Result: { prototype: { addFields(fields: FieldDescription[]): void } };
  export default Result;
}
