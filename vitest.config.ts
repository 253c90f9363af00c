import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run from the TypeScript sources; `npm test` builds dist/ with tsc first
// because the CLI tests execute the built `dist/src/cli/main.js`.
export default defineConfig({
  resolve: {
    // `import * as gc from 'graphc'` in tests means the sources, not dist/.
    alias: [{ find: /^graphc$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Verifies and round-trips every graph a Session is created for.
    setupFiles: ['test/setup_graph_checks.ts'],
    // Every optimization (compile, gc.optimize, the CLI in-process) verifies the graph after each pass.
    // Test files that ask for 'webgpu' run on SwiftShader (a software adapter, refused unless asked for).
    env: { GRAPHC_VERIFY: '1', GRAPHC_ALLOW_SOFTWARE_WEBGPU: '1' },
    testTimeout: 60_000,
    // tfjs keeps global state (engine, registered backends, the global backend):
    // one process per test file keeps files from seeing each other's state.
    pool: 'forks',
  },
});
