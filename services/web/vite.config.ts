import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The dashboard's build: services/web -> services/web/dist (git-ignored), served by the analytics API at /. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1200,
  },
});
