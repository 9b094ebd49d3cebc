import {
	type InteractionEditReplyOptions,
	type InteractionReplyOptions,
	type InteractionUpdateOptions,
	type MessageComponentInteraction,
	MessageFlags,
	type ModalComponentData,
	type ModalSubmitInteraction,
	type RepliableInteraction,
} from "discord.js";

/** What a handler answers with; `ephemeral` only matters for the first response. */
export type Reply = Omit<InteractionReplyOptions, "flags" | "ephemeral" | "withResponse" | "fetchReply"> & {
	ephemeral?: boolean;
};

/**
 * Every acknowledgement of one interaction goes through here, one at a time, so a handler never
 * has to know whether the router already deferred for it: `reply` sends the first response, or
 * fills in a deferred one, or follows up; `defer` is a no-op once acknowledged.
 */
export class Responder {
	readonly interaction: RepliableInteraction;
	#queue: Promise<unknown> = Promise.resolve();
	#state: "fresh" | "deferred" | "replied" = "fresh";
	#ephemeral = false;
	#modal = false;
	readonly #onFirstResponse: (() => void) | undefined;

	/** `onFirstResponse`: called once Discord accepted the first response (whichever kind). */
	constructor(interaction: RepliableInteraction, onFirstResponse?: () => void) {
		this.interaction = interaction;
		this.#onFirstResponse = onFirstResponse;
	}

	get acknowledged(): boolean {
		return this.#state !== "fresh";
	}

	/** Whether the interaction got its answer as a message (not only "thinking…", not a modal): a followup may come after it. */
	get answered(): boolean {
		return this.#state === "replied" && !this.#modal;
	}

	/** Acknowledges now ("thinking…"); the reply comes later with `reply`. */
	defer(options: { ephemeral?: boolean } = {}): Promise<void> {
		return this.#serial(async () => {
			if (this.#state !== "fresh") return;
			this.#ephemeral = options.ephemeral ?? false;
			await this.interaction.deferReply(this.#ephemeral ? { flags: MessageFlags.Ephemeral } : {});
			this.#state = "deferred";
		});
	}

	/** For buttons: acknowledge without a new message; the clicked message is edited later with `update`. */
	deferUpdate(): Promise<void> {
		return this.#serial(async () => {
			if (this.#state !== "fresh") return;
			await (this.interaction as MessageComponentInteraction).deferUpdate();
			this.#state = "deferred";
		});
	}

	reply(reply: Reply): Promise<void> {
		return this.#serial(async () => {
			const { ephemeral, ...payload } = reply;
			if (this.#state === "fresh") {
				this.#ephemeral = ephemeral ?? false;
				await this.interaction.reply({ ...payload, flags: this.#ephemeral ? MessageFlags.Ephemeral : undefined });
				this.#state = "replied";
			} else if (this.#state === "deferred") {
				await this.interaction.editReply(payload as InteractionEditReplyOptions);
				this.#state = "replied";
			} else {
				await this.interaction.followUp({
					...payload,
					flags: (ephemeral ?? this.#ephemeral) ? MessageFlags.Ephemeral : undefined,
				});
			}
		});
	}

	/** Edits the response shown so far (the deferred "thinking…" or the reply), e.g. for progress. */
	edit(payload: InteractionEditReplyOptions): Promise<void> {
		return this.#serial(async () => {
			if (this.#state === "fresh") throw new Error("nothing to edit: the interaction was not answered yet");
			await this.interaction.editReply(payload);
			this.#state = "replied";
		});
	}

	/** For buttons and modals from a message: edits the message the component is on. */
	update(payload: InteractionUpdateOptions): Promise<void> {
		const interaction = this.interaction as MessageComponentInteraction | ModalSubmitInteraction;
		return this.#serial(async () => {
			const fromMessage = interaction.isMessageComponent() || interaction.isFromMessage();
			if (this.#state === "fresh" && fromMessage) {
				await (interaction as MessageComponentInteraction).update(payload);
			} else {
				await interaction.editReply(payload as InteractionEditReplyOptions);
			}
			this.#state = "replied";
		});
	}

	showModal(modal: ModalComponentData): Promise<void> {
		return this.#serial(async () => {
			if (this.#state !== "fresh") throw new Error("a modal must be the first response");
			if (!("showModal" in this.interaction)) throw new Error("this interaction cannot show a modal");
			await this.interaction.showModal(modal);
			this.#state = "replied";
			this.#modal = true;
		});
	}

	#serial<T>(step: () => Promise<T>): Promise<T> {
		const next = this.#queue.then(async () => {
			const fresh = this.#state === "fresh";
			const result = await step();
			if (fresh && this.#state !== "fresh") this.#onFirstResponse?.();
			return result;
		});
		this.#queue = next.catch(() => {});
		return next;
	}
}
