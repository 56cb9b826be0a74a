import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Where `npm run dev` sends API and tus requests: a Haul server started separately. */
const HAUL_SERVER = process.env.HAUL_SERVER ?? 'http://127.0.0.1:3000';

/**
 * Production: `vite build` → dist/, which the Haul server serves at `/`, so every URL in the app
 * is relative (same origin, no CORS). Development: Vite proxies the same paths to a running
 * server, which keeps the app same-origin there too.
 */
export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: HAUL_SERVER, changeOrigin: false },
      '/files': { target: HAUL_SERVER, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: true,
  },
});
