/** What the bot did, as the sandbox prints it: one plain JSON object per recorded bot event. */
import type { BotEvent, Channel, Json } from "../../test/emulators/discord/index.js";
import type { SandboxWorld } from "./world.js";

export type OutputLine = Record<string, unknown>;

const CALLBACK_KINDS: Record<number, string> = {
	4: "reply",
	5: "defer",
	6: "defer-update",
	7: "update",
	8: "autocomplete",
	9: "modal",
};

export function channelLabel(channel: Channel | undefined): string | null {
	if (!channel) return null;
	if (channel.recipient) return `dm:${channel.recipient.username}`;
	return `#${channel.name}`;
}

/** One bot event as a sandbox line; undefined for events not worth a line. */
export function formatEvent(world: SandboxWorld, event: BotEvent): OutputLine | undefined {
	const { discord } = world;
	if (event.kind === "commands") {
		return { kind: "commands", names: (event.commands ?? []).map((c) => c.name) };
	}
	const ix = event.interactionId ? discord.interactions.get(event.interactionId) : undefined;
	const channel = channelLabel(event.channelId ? discord.world.channels.get(event.channelId) : undefined);
	const user = ix?.user.username ?? null;
	if (event.kind === "callback" && event.callbackType === 9) {
		const modal = ix?.modal ?? {};
		return { kind: "modal", channel, user, modal: simplifyModal(modal) };
	}
	if (event.kind === "callback" && event.callbackType === 8) {
		return { kind: "autocomplete", channel, user, choices: ix?.choices ?? [] };
	}
	const kind =
		event.kind === "callback"
			? (CALLBACK_KINDS[event.callbackType ?? 0] ?? `callback-${event.callbackType}`)
			: event.kind;
	return {
		kind,
		channel,
		content: event.content,
		embeds: event.embeds,
		components: simplifyComponents(event.components),
		attachments: event.attachments.map((a) => a.filename),
		ephemeral: event.ephemeral,
		user,
	};
}

interface SimpleComponent {
	type: unknown;
	label?: unknown;
	custom_id?: unknown;
	url?: unknown;
	style?: unknown;
	disabled?: true;
	placeholder?: unknown;
	options?: unknown[];
}

/** Rows of {type, label, custom_id, url, style} (plus disabled, and placeholder/options for selects). */
export function simplifyComponents(components: readonly Json[]): SimpleComponent[][] {
	return components.map((top) => {
		if (top.type === 1 && Array.isArray(top.components)) return (top.components as Json[]).map(simplifyOne);
		const inner = interactive(top);
		return inner.length > 0 ? inner.map(simplifyOne) : [{ type: top.type }];
	});
}

function simplifyOne(c: Json): SimpleComponent {
	const out: SimpleComponent = { type: c.type };
	if (c.label !== undefined) out.label = c.label;
	if (c.custom_id !== undefined) out.custom_id = c.custom_id;
	if (c.url !== undefined) out.url = c.url;
	if (c.style !== undefined) out.style = c.style;
	if (c.disabled === true) out.disabled = true;
	if (c.placeholder !== undefined) out.placeholder = c.placeholder;
	if (Array.isArray(c.options)) out.options = (c.options as Json[]).map((o) => ({ label: o.label, value: o.value }));
	return out;
}

/** Buttons and selects anywhere inside a (components v2) container or section. */
function interactive(c: Json): Json[] {
	const out: Json[] = [];
	const visit = (x: unknown) => {
		if (typeof x !== "object" || x === null || Array.isArray(x)) return;
		const j = x as Json;
		if (typeof j.type === "number" && [2, 3, 5, 6, 7, 8].includes(j.type)) out.push(j);
		for (const key of ["components", "items"]) if (Array.isArray(j[key])) (j[key] as unknown[]).forEach(visit);
		visit(j.accessory);
		visit(j.component);
	};
	visit(c);
	return out;
}

function simplifyModal(modal: Json): OutputLine {
	const fields: OutputLine[] = [];
	// A text input or select, in an action row or in a label component (type 18, which holds the label).
	const visit = (x: unknown, label?: unknown) => {
		if (typeof x !== "object" || x === null || Array.isArray(x)) return;
		const j = x as Json;
		if (j.type === 4 || j.type === 3) {
			fields.push({ custom_id: j.custom_id, label: j.label ?? label, required: j.required !== false });
		}
		if (Array.isArray(j.components)) for (const c of j.components as unknown[]) visit(c);
		visit(j.component, j.label);
	};
	if (Array.isArray(modal.components)) for (const c of modal.components as unknown[]) visit(c);
	return { custom_id: modal.custom_id, title: modal.title, fields };
}
