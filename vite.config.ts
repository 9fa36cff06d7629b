import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  server: { port: 5173 },
  optimizeDeps: {
    // The worker is not reachable from index.html's import graph, so list its entry and
    // every tfjs package: pre-bundled together they share ONE tfjs-core (one engine). An
    // excluded backend would import a second, raw tfjs-core and register on the wrong engine;
    // a dependency discovered late would make Vite re-optimise and reload mid-run.
    entries: ['index.html', 'src/workers/embedWorker.ts', 'src/workers/searchWorker.ts'],
    include: [
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-backend-wasm',
      'idb',
      'papaparse',
      'fflate',
      'umap-js',
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
