/** A tiny path router with Laravel's 404/405 behaviour. */
import type { Ctx } from "./http.js";
import { HttpError } from "./http.js";

export type Params = Record<string, string>;
export type Handler = (ctx: Ctx, params: Params) => Promise<void> | void;

interface Route {
	method: string;
	segments: string[];
	handler: Handler;
}

export type RouteMatch = { handler: Handler; params: Params };

function splitPath(path: string): string[] {
	return path.split("/").filter((s) => s !== "");
}

function matchSegments(pattern: string[], parts: string[]): Params | null {
	if (pattern.length !== parts.length) return null;
	const params: Params = {};
	for (let i = 0; i < pattern.length; i++) {
		const p = pattern[i] as string;
		const part = parts[i] as string;
		if (p.startsWith(":")) {
			try {
				params[p.slice(1)] = decodeURIComponent(part);
			} catch {
				return null;
			}
		} else if (p !== part) {
			return null;
		}
	}
	return params;
}

export class Router {
	private readonly routes: Route[] = [];

	constructor(private readonly prefix = "") {}

	add(method: string, pattern: string, handler: Handler): this {
		this.routes.push({ method, segments: splitPath(this.prefix + pattern), handler });
		return this;
	}

	/**
	 * The handler for `method path`; throws 404 `{"message":"Not found."}` when no route has
	 * this path and 405 (Laravel's message, with `Allow`) when routes exist for other methods.
	 * HEAD is served by GET routes.
	 */
	resolve(method: string, path: string): RouteMatch {
		const parts = splitPath(path);
		const allowed: string[] = [];
		for (const route of this.routes) {
			const params = matchSegments(route.segments, parts);
			if (!params) continue;
			if (route.method === method || (method === "HEAD" && route.method === "GET")) {
				return { handler: route.handler, params };
			}
			allowed.push(route.method);
			if (route.method === "GET") allowed.push("HEAD");
		}
		if (allowed.length === 0) throw new HttpError(404, { message: "Not found." });
		const list = [...new Set(allowed)].join(", ");
		const routePath = parts.join("/");
		throw new HttpError(
			405,
			{ message: `The ${method} method is not supported for route ${routePath}. Supported methods: ${list}.` },
			{ Allow: list },
		);
	}
}
