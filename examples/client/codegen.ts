import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * A frontend's codegen: typed documents for the operations in this folder, from the committed
 * schema.graphql, and a persisted-documents manifest (gql/persisted-documents.json: SHA-256 hash
 * of each document -> its text) that the server loads as its trusted documents
 * (TRUSTED_DOCUMENTS). Run from the repository root: `npm run codegen`.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['examples/client/*.ts', '!examples/client/gql/**'],
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    'examples/client/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        // each document carries its hash (document.__meta__.hash); the manifest maps hashes to text
        persistedDocuments: { mode: 'embedHashInDocument', hashPropertyName: 'hash', hashAlgorithm: 'sha256' },
      },
      config: {
        scalars: { DateTime: 'string', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
