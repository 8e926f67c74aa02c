/**
 * Vite + vitest configuration for the ferrocast web client.
 *
 * In development the gateway (services/gateway, default 127.0.0.1:8080) is the single origin the
 * browser talks to in production, so the dev server proxies the same prefixes to it: pages then
 * behave exactly as when the gateway serves `dist/` (same-origin cookies, SSE, HLS).
 */
import { defineConfig } from 'vitest/config';

const gateway = 'http://127.0.0.1:8080';

export default defineConfig({
  server: {
    proxy: {
      '/api': { target: gateway, changeOrigin: false },
      '/hls': { target: gateway, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/api': { target: gateway, changeOrigin: false },
      '/hls': { target: gateway, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // hls.js alone is ~400 kB minified; it is split into its own chunk and loaded only by the
    // pages that play video, so the warning threshold is raised to that size on purpose.
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
  },
});
