import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "../metrics.js";

export interface HealthServer {
	readonly port: number;
	close(): Promise<void>;
}

/**
 * `GET /healthz` on 127.0.0.1 or all interfaces: 200 once `ready()` says so (after the gateway's
 * READY), 503 before and while shutting down. With `metrics`, `GET /metrics` serves them in
 * Prometheus' text format. Anything else is 404.
 */
export async function startHealthServer(options: {
	port: number;
	host?: string;
	ready: () => boolean;
	metrics?: Metrics | undefined;
}): Promise<HealthServer> {
	const server: Server = createServer((request, response) => {
		const path = request.url?.split("?")[0];
		if (request.method === "GET" && path === "/metrics" && options.metrics) {
			serveMetrics(options.metrics, response);
			return;
		}
		if (request.method !== "GET" || path !== "/healthz") {
			response.writeHead(404).end();
			return;
		}
		const ok = options.ready();
		response.writeHead(ok ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" });
		response.end(JSON.stringify({ status: ok ? "ok" : "starting" }));
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
	});
	return {
		port: (server.address() as AddressInfo).port,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

function serveMetrics(metrics: Metrics, response: ServerResponse): void {
	metrics.text().then(
		(text) => {
			response.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" });
			response.end(text);
		},
		() => response.writeHead(500).end(),
	);
}
