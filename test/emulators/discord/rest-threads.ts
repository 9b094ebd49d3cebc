/**
 * Starting a thread from a message (POST /channels/{c}/messages/{m}/threads), as Discord does: a
 * public thread (an announcement thread in announcement channels) whose id is the message's, for
 * text and announcement channels only (else 50024, a violation); Create Public Threads needed
 * (50013), Send Messages not; one thread per message (160004). The message then carries `thread`
 * and HAS_THREAD (MESSAGE_UPDATE); THREAD_CREATE is dispatched.
 */
import { DiscordError, errors } from "./http.js";
import { P } from "./permissions.js";
import type { RouteRequest, Router } from "./router.js";
import { type Channel, ChannelType, type Json, type Message, MessageFlags, type World } from "./state.js";
import { type FieldError, Schemas, specErrors, throwIfErrors } from "./validation.js";

export interface ThreadKit {
	world: World;
	channelOr404(id: string): Channel;
	requireView(ch: Channel): void;
	requirePerms(ch: Channel, needed: bigint): void;
	bodyObject(req: RouteRequest): Record<string, unknown>;
	dispatchUpdate(msg: Message): void;
	event(req: RouteRequest, msg: Message, threadId: string): void;
}

export function addThreadRoutes(r: Router, kit: ThreadKit): void {
	const { world } = kit;

	r.add("POST", "/channels/{channel_id}/messages/{message_id}/threads", (req) => {
		const ch = kit.channelOr404(req.params.get("channel_id"));
		kit.requireView(ch);
		if (ch.type !== ChannelType.GuildText && ch.type !== ChannelType.GuildAnnouncement) {
			throw new DiscordError(400, { message: "Cannot execute action on this channel type", code: 50024 }, "validation");
		}
		const msg = world.messages.get(req.params.get("message_id"));
		if (!msg || msg.deleted || msg.channel !== ch || msg.ephemeral) throw errors.unknownMessage();
		const body = kit.bodyObject(req);
		const errs: FieldError[] = specErrors(Schemas.threadFromMessage, body);
		if (typeof body.name === "string" && body.name.trim() === "") {
			errs.push({ path: ["name"], code: "BASE_TYPE_REQUIRED", message: "This field is required" });
		}
		throwIfErrors(errs);
		kit.requirePerms(ch, P.CreatePublicThreads);
		const existing = msg.threadId ? world.channels.get(msg.threadId) : undefined;
		if (existing && !existing.deleted) {
			throw new DiscordError(400, { message: "A thread has already been created for this message", code: 160004 });
		}
		const thread = ch.createThread({
			name: String(body.name),
			id: msg.id,
			autoArchiveDuration: typeof body.auto_archive_duration === "number" ? body.auto_archive_duration : 1440,
			rateLimitPerUser: typeof body.rate_limit_per_user === "number" ? body.rate_limit_per_user : 0,
		});
		msg.threadId = thread.id;
		msg.flags |= MessageFlags.HasThread;
		kit.dispatchUpdate(msg);
		kit.event(req, msg, thread.id);
		const out: Json = thread.toAPI();
		return { status: 201, body: out };
	});
}
