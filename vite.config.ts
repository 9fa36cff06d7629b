import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';

const FACTORY = 'tfjs-backend-wasm-threaded-simd.js';
const SCRIPT_DIR =
  "  var _scriptDir = typeof document !== 'undefined' && document.currentScript ? document.currentScript.src : undefined;\n" +
  "  if (typeof __filename !== 'undefined') _scriptDir = _scriptDir || __filename;\n";
const INNER = '  return (\nfunction(WasmBackendModuleThreadedSimd) {\n';

/**
 * Makes tfjs 4.22's threaded WASM build survive minification. tfjs starts each of its thread
 * workers from `factory.toString()`, so that function must not use anything from outside it;
 * but Emscripten declares `_scriptDir` just outside, and a minifier, seeing the declaration,
 * drops the `typeof _scriptDir` guard inside: every thread worker of a production build then
 * throws "<name> is not defined" and the backend never starts (tfjs issues #4253, #4539).
 * Moving the declaration into the function keeps it self-contained (in a browser it is
 * `undefined` either way). Fails the build if the file no longer looks as expected.
 */
function tfjsWasmThreads(): Plugin {
  return {
    name: 'tfjs-wasm-threads-minifier-safe',
    transform(code, id) {
      if (!id.split('?')[0].endsWith(`/wasm-out/${FACTORY}`)) return null;
      if (!code.includes(SCRIPT_DIR + INNER)) {
        this.error(`${FACTORY} changed: check that its thread workers still start in a production build, then update tfjsWasmThreads in vite.config.ts`);
      }
      return { code: code.replace(SCRIPT_DIR + INNER, INNER + SCRIPT_DIR), map: null };
    },
  };
}

/**
 * The page starts in stages (src/app/main.tsx: the session store, React DOM, then the studio,
 * each imported when the one before has run). Preloaded from the HTML, their chunks download
 * with the entry instead of one after another; each is still evaluated only when imported.
 */
function preloadStartChunks(): Plugin {
  let base = '/';
  return {
    name: 'preload-start-chunks',
    apply: 'build',
    configResolved(config) {
      base = config.base;
    },
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const { bundle, chunk: entry } = ctx;
        if (!bundle || !entry) return;
        const files = new Set<string>();
        const add = (name: string) => {
          const c = bundle[name];
          if (!c || c.type !== 'chunk' || files.has(c.fileName) || c.fileName === entry.fileName) return;
          files.add(c.fileName);
          c.imports.forEach(add);
        };
        entry.dynamicImports.forEach(add);
        return [...files].map((file) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: base + file }, injectTo: 'head' as const }));
      },
    },
  };
}

/**
 * The preview serves the build as a host should: the hashed files under assets/ never change
 * under their name, so the browser keeps them without asking again. Revalidated on every
 * reload (`no-cache`, the preview's default), each script and .wasm cost a round trip first.
 * (Module workers are compiled afresh on each reload either way: Chromium here keeps no code
 * cache for them, measured with the search worker's 2.7 MB module.)
 */
function immutableAssets(): Plugin {
  let prefix = '/assets/';
  return {
    name: 'immutable-assets',
    configResolved(config) {
      prefix = `${config.base}${config.build.assetsDir}/`;
    },
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url?.startsWith(prefix)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        next();
      });
    },
  };
}

// Cross-origin isolation: SharedArrayBuffer, hence the threaded WASM backend (README, "Hosting")
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react(), tfjsWasmThreads(), preloadStartChunks(), immutableAssets()],
  // the workers are bundled with their own plugins (config.plugins only reach them in dev)
  worker: { format: 'es', plugins: () => [tfjsWasmThreads()] },
  server: { port: 5173, headers: isolation },
  preview: { headers: isolation },
  optimizeDeps: {
    // The worker is not reachable from index.html's import graph, so list its entry and
    // every tfjs package: pre-bundled together they share ONE tfjs-core (one engine). An
    // excluded backend would import a second, raw tfjs-core and register on the wrong engine;
    // a dependency discovered late would make Vite re-optimise and reload mid-run.
    entries: ['index.html', 'src/workers/embedWorker.ts', 'src/workers/searchWorker.ts', 'src/workers/datasetWorker.ts'],
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
