import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The platform serves the build under /static/console/ (WhiteNoise) and index.html at every console route.
const api = process.env.LLMOPS_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/static/console/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": api,
      "/v1": api,
      "/admin": api,
      "/ws": { target: api.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
