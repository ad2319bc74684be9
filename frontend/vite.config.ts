/// <reference types="vitest/config" />
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// `npm run dev` proxies the API (started separately on :8000) so the app runs same-origin.
export default defineConfig({
  plugins: [preact()],
  server: { proxy: { "/api": process.env.SQUEEZELAB_API ?? "http://127.0.0.1:8000" } },
  build: {
    target: "es2022",
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      output: {
        // ECharts and its renderer in one long-cached chunk, shared by the chart pages.
        manualChunks: (id) => (/node_modules\/(echarts|zrender)\//.test(id) ? "echarts"
          : undefined),
      },
    },
  },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
