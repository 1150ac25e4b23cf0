// Layering of src/ (DESIGN.md, "Architecture"): imports run one way, doors -> services -> infra/db, with no cycles.
// `npm run lint:deps` checks it; .ci/run calls that before the tests.
//
//   doors     src/main.ts, src/app.ts, src/schema.ts, src/routes.ts (assembly: they import every module's door),
//             src/graphql/** and src/rest/** (the door kit: builder, context, errors, envelope, scope ...),
//             src/modules/*/*.rest.ts, *.graphql.ts, *.jobs.ts
//   services  src/modules/*/*.service.ts and the domain helpers beside them (integration-spec.ts, message-content.ts ...)
//   infra/db  src/infra/**, src/db/**, src/modules/*/*.entity.ts, src/config.ts, src/errors.ts, src/context.ts,
//             src/util.ts, src/validation.ts, src/pagination.ts
//
// Type-only imports count everywhere (tsPreCompilationDeps): a type import still ties the two files' designs
// together, and a cycle made of type imports is a cycle a refactor has to untangle all the same.

const DOOR_ASSEMBLY = '^src/(main|app|schema|routes)[.]ts$';
const DOOR_KIT = '^src/(graphql|rest)/';
const MODULE_DOOR = '^src/modules/[^/]+/[^/]+[.](rest|graphql|jobs)[.]ts$';
const ENTITY = '^src/modules/[^/]+/[^/]+[.]entity[.]ts$';
const INFRA = `^src/(infra|db)/|^src/(config|errors|context|util|validation|pagination)[.]ts$|${ENTITY}`;
const DOOR = `${DOOR_ASSEMBLY}|${DOOR_KIT}|${MODULE_DOOR}`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'service-imports-door',
      severity: 'error',
      comment: 'Services hold the rules and know nothing of HTTP, GraphQL or jobs: a service never imports a door.',
      from: { path: '^src/', pathNot: `${DOOR}|${INFRA}` },
      to: { path: DOOR },
    },
    {
      name: 'infra-imports-up',
      severity: 'error',
      comment: 'infra/db (adapters, entities, config, errors, shared types) is the bottom layer: it imports no service and no door.',
      from: { path: INFRA },
      to: { path: '^src/', pathNot: INFRA },
    },
    {
      name: 'door-kit-imports-module',
      severity: 'error',
      comment:
        'The door kit (src/graphql, src/rest) is what module doors build on; the assembly of every module (schema, routes) ' +
        'lives above them, beside app.ts, not in the kit they import.',
      from: { path: DOOR_KIT },
      to: { path: `${MODULE_DOOR}|${DOOR_ASSEMBLY}` },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles between files, type-only imports included.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-between-modules',
      severity: 'error',
      comment:
        'No cycles between domain modules (src/modules/<domain> folders): one module builds on another, never both ways. ' +
        'Folder scope sees cycles that file-level rules miss (a door of one module using a service that uses the other).',
      scope: 'folder',
      from: { path: '^src/modules/' },
      to: { path: '^src/modules/', circular: true },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A file nothing imports and that imports nothing is dead code (or not wired in yet).',
      from: { orphan: true, pathNot: '[.]d[.]ts$' },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a typo or a missing package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/db/migrations/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
