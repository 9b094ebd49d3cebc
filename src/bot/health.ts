import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HealthServer {
	readonly port: number;
	close(): Promise<void>;
}

/**
 * `GET /healthz` on 127.0.0.1 or all interfaces: 200 once `ready()` says so (after the gateway's
 * READY), 503 before and while shutting down. Anything else is 404.
 */
export async function startHealthServer(options: {
	port: number;
	host?: string;
	ready: () => boolean;
}): Promise<HealthServer> {
	const server: Server = createServer((request, response) => {
		if (request.method !== "GET" || request.url?.split("?")[0] !== "/healthz") {
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
