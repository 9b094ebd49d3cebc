import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		include: ["test/**/*.test.ts"],
		testTimeout: 30_000,
		hookTimeout: 30_000,
		pool: "forks",
		// Two files at a time even on 2 cores (vitest would take one): most e2e time is waiting on
		// emulators, child processes and redis-server, not CPU.
		maxWorkers: 2,
		reporters: ["default"],
	},
});
