/* global module */
// The import rules of src/ (`npm run check:imports`, run by CI): no import cycles, and every arrow
// points down the layer table below (the design's "Layers of the code"). A module may import its
// own top-level folder and any folder of a lower row; a folder on the same row is not below it.
// Type-only imports count for the layers (an upward type is an upward arrow) but not for cycles
// (they vanish at run time and cannot make an initialisation order matter).
//
// A new top-level folder under src/ must be given a row here, or every import of it fails.
// Exceptions: none. An exception would be listed in EXCEPTIONS with the reason it is allowed.

/** Bottom to top. Names are folders under src/ or files src/<name>.ts. */
const LAYERS = [
  ['util', 'version'],
  ['formats'],
  ['backend'],
  ['tensor'],
  ['data'],
  ['nn', 'losses', 'optim'],
  ['runs'],
  ['train'],
  ['eval', 'predict', 'distributed', 'zoo'],
  ['pretrain', 'io'],
  ['finetune'],
  ['loading'],
  ['index', 'browser'],
  ['server'],
  ['cli'],
];

/** `{from: '<layer name>', to: '<path regex>', reason}`: allowed arrows that break the table. Keep it empty. */
const EXCEPTIONS = [];

const modulePath = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

const layerRules = LAYERS.flatMap((row, level) =>
  row.map((name) => {
    const allowed = [name, ...LAYERS.slice(0, level).flat()];
    return {
      name: `layer-${name}`,
      comment: `src/${name} may import only ${allowed.join(', ')} (rows below it in .dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: modulePath([name]) },
      to: {
        path: '^src/',
        pathNot: [modulePath(allowed), ...EXCEPTIONS.filter((e) => e.from === name).map((e) => e.to)],
      },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: move what both sides need into a lower module',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...layerRules,
    {
      name: 'not-resolvable',
      comment: 'an import that does not resolve to a file',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    // Type-only imports are seen (tsPreCompilationDeps) so upward types are caught too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  },
};
