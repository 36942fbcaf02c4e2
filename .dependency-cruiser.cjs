/** Architecture rules (issue 14), checked by `npm run arch` and in `npm test`. */
/* global module */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'Folders must not depend on each other in a cycle.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^services/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      from: { path: '^services/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      comment: 'services/domain imports nothing else of the project.',
      severity: 'error',
      from: { path: '^services/domain/' },
      to: { path: '^(services|test|bench|postgres)/', pathNot: '^services/domain/' },
    },
    {
      name: 'service-public-surface',
      comment:
        'Another service is imported only through its index.ts. shared/, domain/ and domain-data/ are libraries whose modules are all public.',
      severity: 'error',
      from: { path: '^services/([^/]+)/' },
      to: {
        path: '^services/([^/]+)/',
        pathNot: [
          '^services/$1/',
          '^services/[^/]+/index\\.ts$',
          // the SDK has a browser and a Node entry besides index.ts
          '^services/sdk/(browser|node)\\.ts$',
          '^services/(shared|domain|domain-data)/',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^services/',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
