/** The progress message of an upload: one line per file, edited at a bounded rate. */
import { setTimeout as sleep } from "node:timers/promises";
import { quoteInput } from "../../discord/index.js";
import type { Translate } from "../../i18n/index.js";
import type { HandlerContext } from "../types.js";
import { CONTENT_MAX, fitLines, formatBytes } from "./text.js";

/** Progress edits of one interaction are at least this far apart (the final answer too). */
export const PROGRESS_INTERVAL_MS = 1_500;

export type FileState =
	| { state: "pending" }
	| { state: "queued"; position: number }
	| { state: "starting" }
	| { state: "uploading"; sent: number; total: number | undefined }
	| { state: "retrying"; seconds: number }
	| { state: "done" }
	| { state: "reused" }
	| { state: "failed" };

/**
 * The deferred reply as a progress board: one line per file. Edits go out at most once every
 * PROGRESS_INTERVAL_MS (the first one that long after the start, so quick uploads never show
 * one), each timed from the moment Discord accepted the previous one; `finish` keeps that
 * spacing for the final answer too.
 */
export class ProgressBoard {
	readonly #ctx: HandlerContext;
	readonly #names: string[];
	readonly #states: FileState[];
	readonly #interval: number;
	#timer: NodeJS.Timeout | undefined;
	#editing: Promise<void> | undefined;
	#dirty = false;
	#stopped = false;
	#lastEdit: number;
	#edits = 0;

	constructor(ctx: HandlerContext, names: readonly string[], intervalMs = PROGRESS_INTERVAL_MS) {
		this.#ctx = ctx;
		this.#names = [...names];
		this.#states = names.map(() => ({ state: "pending" }));
		this.#interval = intervalMs;
		this.#lastEdit = Date.now();
	}

	set(index: number, state: FileState): void {
		if (this.#stopped || index < 0 || index >= this.#states.length) return;
		this.#states[index] = state;
		this.#dirty = true;
		this.#schedule();
	}

	render(): string {
		const t = this.#ctx.t;
		const lines = [t("upload.progress.header", { count: this.#names.length })];
		this.#states.forEach((state, index) => {
			const name = quoteInput(this.#names[index] ?? "", 60);
			lines.push(`${ICONS[state.state]} \`${name}\` — ${describeState(t, state)}`);
		});
		return fitLines(lines, CONTENT_MAX);
	}

	/** Stops the edits; resolves once the last one is done and the interval since it has passed. */
	async finish(): Promise<void> {
		this.#stopped = true;
		clearTimeout(this.#timer);
		this.#timer = undefined;
		await this.#editing;
		if (this.#edits > 0) {
			const wait = this.#lastEdit + this.#interval - Date.now();
			if (wait > 0) await sleep(wait);
		}
	}

	#schedule(): void {
		if (this.#stopped || this.#timer || this.#editing || !this.#dirty) return;
		const wait = Math.max(0, this.#lastEdit + this.#interval - Date.now());
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			this.#flush();
		}, wait);
	}

	#flush(): void {
		if (this.#stopped || !this.#dirty) return;
		this.#dirty = false;
		this.#edits++;
		this.#editing = this.#ctx.respond
			.edit({ content: this.render(), allowedMentions: { parse: [] } })
			.catch((error: unknown) => this.#ctx.log.warn({ err: error }, "progress edit failed"))
			.finally(() => {
				this.#lastEdit = Date.now();
				this.#editing = undefined;
				this.#schedule();
			});
	}
}

const ICONS: Record<FileState["state"], string> = {
	pending: "⏳",
	queued: "⏳",
	starting: "⏳",
	uploading: "⬆️",
	retrying: "⏳",
	done: "✅",
	reused: "♻️",
	failed: "❌",
};

function describeState(t: Translate, state: FileState): string {
	switch (state.state) {
		case "pending":
			return t("upload.progress.pending");
		case "queued":
			return t("upload.progress.queued", { position: state.position });
		case "starting":
			return t("upload.progress.starting");
		case "uploading":
			if (state.total === undefined || state.total <= 0) {
				return t("upload.progress.uploadingUnknown", { sent: formatBytes(state.sent) });
			}
			return t("upload.progress.uploading", {
				percent: Math.min(100, Math.floor((state.sent / state.total) * 100)),
				sent: formatBytes(state.sent),
				total: formatBytes(state.total),
			});
		case "retrying":
			return t("upload.progress.retrying", { seconds: state.seconds });
		case "done":
			return t("upload.progress.done");
		case "reused":
			return t("upload.progress.reused");
		case "failed":
			return t("upload.progress.failed");
	}
}
