import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations for the tests and the web console from the committed schema.graphql.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  generates: {
    'test/gql/': {
      documents: ['test/**/*.ts', '!test/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { emitLegacyCommonJSImports: false, useTypeImports: true, scalars: { DateTime: 'string', JSON: 'unknown' }, enumsAsTypes: true },
    },
    // The web console's operations: types only (console/src/graphql.ts), the bundle sends the text as written.
    'console/src/gql/': {
      documents: ['console/src/**/*.{ts,tsx}', '!console/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { documentMode: 'string', useTypeImports: true, scalars: { DateTime: 'string', JSON: 'unknown' }, enumsAsTypes: true },
    },
  },
};
export default config;
