/**
 * The bot's Prometheus metrics (`GET /metrics` on the health server). One Registry per Bot, made
 * where the services are wired and handed to whatever counts: never prom-client's global default
 * registry, so two bots in one process (tests) never share a counter. Every label value comes
 * from a small fixed set (command names, outcomes, reasons, HTTP statuses): never a user, guild,
 * channel, URL or token.
 */
import { hostname } from "node:os";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface MetricsOptions {
	/** The `process` label on every series, telling replicas apart. Default `host:pid`. */
	process?: string | undefined;
	/** The `shards` label (e.g. "0,1"), when this process runs a known set of gateway shards. */
	shards?: string | undefined;
	/** prom-client's default process metrics (RSS, CPU, heap, event loop lag, GC). Default true. */
	processMetrics?: boolean | undefined;
}

/** What kind of interaction came in (the router's routes). */
export type InteractionType = "command" | "context_menu" | "autocomplete" | "button" | "modal" | "component";
/** How the router's central catch ended an interaction. */
export type InteractionOutcome = "ok" | "user_error" | "imgpile_error" | "token_unreadable" | "expired" | "failed";
/** Why a file of an upload or rehost failed (the transfer's reason, or "unexpected"). */
export const UPLOAD_FAILURE_REASONS = [
	"too_large",
	"wrong_type",
	"bad_host",
	"download_failed",
	"imgpile",
	"aborted",
	"unexpected",
] as const;
export type TransferFailureLabel = (typeof UPLOAD_FAILURE_REASONS)[number];
export type FeedPollResult = "ok" | "failed" | "rate_limited" | "deferred";
export type FeedDeliveryKind = "live" | "digest" | "notify";
export type FeedDeliveryOutcome = "sent" | "recovered" | "failed" | "dropped";
/** An outbox put refused (already pending or delivered), or a delivery found already accepted and not sent again. */
export type DuplicateReason = "outbox" | "recovered" | "notify";

/** What the feed gauges read at scrape time (the Bot wires its scheduler and store). */
export interface FeedGauges {
	leader(): boolean;
	/** Outbox entries not delivered yet; `undefined` when they cannot be read now (the last value stays). */
	outboxDepth(): Promise<number | undefined>;
}

const POLL_RESULTS: readonly FeedPollResult[] = ["ok", "failed", "rate_limited", "deferred"];
const RATE_LIMIT_SCOPES = new Set(["user", "global", "shared"]);
/** Around Discord's 3 s deadline for the first response (the router defers at 2 s). */
const RESPONSE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 5];

export class Metrics {
	readonly registry = new Registry();
	readonly #interactions: Counter<"type" | "command" | "outcome">;
	readonly #firstResponse: Histogram<"type" | "command">;
	readonly #uploadedBytes: Counter;
	readonly #uploadedFiles: Counter;
	readonly #transferFailures: Counter<"reason">;
	readonly #polls: Counter<"result">;
	readonly #deliveries: Counter<"kind" | "outcome">;
	readonly #duplicates: Counter<"reason">;
	readonly #outbox: Gauge;
	readonly #leader: Gauge;
	readonly #discord429: Counter<"scope">;
	readonly #discordWaits: Counter<"global">;
	readonly #imgpileErrors: Counter<"status">;
	#feeds: FeedGauges | undefined;

	constructor(options: MetricsOptions = {}) {
		const labels: Record<string, string> = { process: options.process ?? `${hostname()}:${process.pid}` };
		if (options.shards !== undefined) labels.shards = options.shards;
		this.registry.setDefaultLabels(labels);
		if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
		const registers = [this.registry];

		this.#interactions = new Counter({
			name: "imgpile_bot_interactions_total",
			help: "Interactions handled, by type (command, context_menu, autocomplete, button, modal, component), command or custom id name, and outcome (ok, user_error, imgpile_error, token_unreadable, expired, failed).",
			labelNames: ["type", "command", "outcome"],
			registers,
		});
		this.#firstResponse = new Histogram({
			name: "imgpile_bot_interaction_first_response_seconds",
			help: "Time from receiving an interaction to Discord accepting its first response (reply, defer, modal, update); Discord allows 3 s.",
			labelNames: ["type", "command"],
			buckets: RESPONSE_BUCKETS,
			registers,
		});
		this.#uploadedBytes = new Counter({
			name: "imgpile_bot_upload_bytes_total",
			help: "File bytes transferred from Discord's CDN to imgpile, of transfers that succeeded.",
			registers,
		});
		this.#uploadedFiles = new Counter({
			name: "imgpile_bot_uploads_total",
			help: "Files transferred from Discord's CDN to imgpile.",
			registers,
		});
		this.#transferFailures = new Counter({
			name: "imgpile_bot_upload_failures_total",
			help: "Files of uploads and rehosts that failed, as the user was told, by reason (too_large, wrong_type, bad_host, download_failed, imgpile, aborted, unexpected).",
			labelNames: ["reason"],
			registers,
		});
		this.#polls = new Counter({
			name: "imgpile_bot_feed_polls_total",
			help: "Feed query polls, by result: ok, failed (imgpile error, the query backs off), rate_limited (imgpile 429), deferred (put off or cut short by the imgpile budget).",
			labelNames: ["result"],
			registers,
		});
		this.#deliveries = new Counter({
			name: "imgpile_bot_feed_deliveries_total",
			help: "Feed messages, by kind (live, digest) and outcome: sent, recovered (found already accepted by Discord after a restart), failed (tried again later or feed stopped), dropped (Discord kept refusing it).",
			labelNames: ["kind", "outcome"],
			registers,
		});
		this.#duplicates = new Counter({
			name: "imgpile_bot_feed_duplicates_avoided_total",
			help: "Announcements not made twice: outbox (a post already queued or delivered was not queued again), recovered (a delivery already accepted by Discord was not sent again).",
			labelNames: ["reason"],
			registers,
		});
		this.#outbox = new Gauge({
			name: "imgpile_bot_feed_outbox_entries",
			help: "Feed deliveries waiting in the outbox (read by the feed leader only; 0 on other processes).",
			registers,
			collect: () => this.#collectOutbox(),
		});
		this.#leader = new Gauge({
			name: "imgpile_bot_feed_leader",
			help: "1 while this process holds the feed lease (polls and delivers the feeds), else 0.",
			registers,
			collect: () => {
				this.#leader.set(this.#feeds?.leader() ? 1 : 0);
			},
		});
		this.#discord429 = new Counter({
			name: "imgpile_bot_discord_429_responses_total",
			help: "Discord REST answers with status 429 (Too Many Requests), by X-RateLimit-Scope (user, global, shared).",
			labelNames: ["scope"],
			registers,
		});
		this.#discordWaits = new Counter({
			name: "imgpile_bot_discord_rate_limit_waits_total",
			help: "Discord REST requests held back by discord.js to stay within a rate limit (global: the bot-wide limit).",
			labelNames: ["global"],
			registers,
		});
		this.#imgpileErrors = new Counter({
			name: "imgpile_bot_imgpile_errors_total",
			help: "Failed imgpile requests (each attempt), by HTTP status, or network, timeout, too_large when there was none.",
			labelNames: ["status"],
			registers,
		});
		// The fixed sets start at 0, so rates and alerts work before the first event.
		for (const reason of UPLOAD_FAILURE_REASONS) this.#transferFailures.inc({ reason }, 0);
		for (const result of POLL_RESULTS) this.#polls.inc({ result }, 0);
		for (const reason of ["outbox", "recovered"] as const) this.#duplicates.inc({ reason }, 0);
	}

	/** Prometheus' text exposition format. */
	get contentType(): string {
		return this.registry.contentType;
	}

	/** Every metric, as `GET /metrics` serves it. */
	text(): Promise<string> {
		return this.registry.metrics();
	}

	interaction(type: InteractionType, command: string, outcome: InteractionOutcome): void {
		this.#interactions.inc({ type, command, outcome });
	}

	firstResponse(type: InteractionType, command: string, seconds: number): void {
		this.#firstResponse.observe({ type, command }, seconds);
	}

	uploaded(bytes: number): void {
		this.#uploadedFiles.inc();
		this.#uploadedBytes.inc(bytes);
	}

	uploadFailed(reason: TransferFailureLabel): void {
		this.#transferFailures.inc({ reason });
	}

	feedPolls(result: FeedPollResult, count = 1): void {
		this.#polls.inc({ result }, count);
	}

	/** A feed message's fate; "recovered" also counts as a duplicate avoided. */
	feedDelivery(kind: FeedDeliveryKind, outcome: FeedDeliveryOutcome): void {
		this.#deliveries.inc({ kind, outcome });
		if (outcome === "recovered") this.#duplicates.inc({ reason: "recovered" });
	}

	duplicateAvoided(reason: DuplicateReason): void {
		this.#duplicates.inc({ reason });
	}

	/** A Discord REST response with status 429; `scope` is its X-RateLimit-Scope header. */
	discord429(scope: string | null): void {
		this.#discord429.inc({ scope: scope && RATE_LIMIT_SCOPES.has(scope) ? scope : "unknown" });
	}

	discordRateLimitWait(global: boolean): void {
		this.#discordWaits.inc({ global: String(global) });
	}

	/** A failed imgpile request: its HTTP status, or the error's kind when there was no answer (network, timeout, too_large). */
	imgpileError(status: number | string): void {
		this.#imgpileErrors.inc({ status: String(status) });
	}

	/** The feed scheduler and outbox the feed gauges read at scrape time. */
	watchFeeds(feeds: FeedGauges): void {
		this.#feeds = feeds;
	}

	async #collectOutbox(): Promise<void> {
		const feeds = this.#feeds;
		if (!feeds?.leader()) {
			this.#outbox.set(0);
			return;
		}
		const depth = await feeds.outboxDepth();
		if (depth !== undefined) this.#outbox.set(depth);
	}
}
