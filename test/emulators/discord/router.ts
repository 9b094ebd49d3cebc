/** A tiny router over spec-style templates ("/channels/{channel_id}/messages/{message_id}"). */
import type { RequestBody } from "./http.js";

export interface RouteRequest {
	params: Params;
	query: URLSearchParams;
	body: RequestBody;
	method: string;
	path: string;
	/** "METHOD /template" */
	route: string;
}

export interface RouteResult {
	status: number;
	body?: unknown;
}

export type Handler = (req: RouteRequest) => Promise<RouteResult> | RouteResult;

export interface RouteDef {
	method: string;
	template: string;
	/** Whether `Authorization: Bot <token>` is required (false for interaction callbacks and webhooks). */
	auth: boolean;
	handler: Handler;
}

export class Params {
	constructor(private readonly values: Record<string, string>) {}

	get(name: string): string {
		const v = this.values[name];
		if (v === undefined) throw new Error(`route parameter ${name} missing`);
		return v;
	}

	/** The rate-limit major parameter: channel, guild, or webhook id + token. */
	major(): string {
		const v = this.values;
		if (v.webhook_id && v.webhook_token) return `${v.webhook_id}/${v.webhook_token}`;
		return v.channel_id ?? v.guild_id ?? v.interaction_id ?? "global";
	}
}

export type MatchResult =
	| { kind: "ok"; route: RouteDef; params: Params }
	| { kind: "method"; allowed: string[] }
	| { kind: "none" };

export class Router {
	private readonly routes: Array<RouteDef & { parts: string[] }> = [];

	add(method: string, template: string, handler: Handler, opts: { auth?: boolean } = {}): this {
		this.routes.push({ method, template, auth: opts.auth ?? true, handler, parts: template.split("/").slice(1) });
		return this;
	}

	match(method: string, path: string): MatchResult {
		const parts = path.replace(/\/+$/, "").split("/").slice(1);
		const allowed: string[] = [];
		for (const r of this.routes) {
			if (r.parts.length !== parts.length) continue;
			const values: Record<string, string> = {};
			let ok = true;
			for (let i = 0; i < parts.length; i++) {
				const want = r.parts[i] ?? "";
				const got = decodeURIComponent(parts[i] ?? "");
				if (want.startsWith("{")) {
					// "@original" / "@me" are literals; a {param} does not swallow them.
					if (got.startsWith("@") || got === "") {
						ok = false;
						break;
					}
					values[want.slice(1, -1)] = got;
				} else if (want !== got) {
					ok = false;
					break;
				}
			}
			if (!ok) continue;
			if (r.method === method || (method === "HEAD" && r.method === "GET")) {
				return { kind: "ok", route: r, params: new Params(values) };
			}
			allowed.push(r.method);
		}
		return allowed.length > 0 ? { kind: "method", allowed } : { kind: "none" };
	}
}
