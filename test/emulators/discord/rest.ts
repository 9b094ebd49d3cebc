/**
 * REST routes. Order of checks on a route: auth (401) -> rate limit (429) -> body read (invalid
 * JSON 50109, too large 40005) -> resource (10003/10004/10008/10062/10015...) -> interaction state
 * (40060, 50027) -> body validation against the spec + Discord's extra rules (50035) ->
 * permissions (50001 no View Channel, 50013) -> empty message (50006).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { guessContentType, imageSize } from "./cdn.js";
import type { Clock, Snowflakes } from "./clock.js";
import { DiscordError, errors, type UploadedFile } from "./http.js";
import { CallbackType, type Interaction, InteractionType } from "./interactions.js";
import { allowedMentionsErrors, computeMentions, newPings } from "./mentions.js";
import { P } from "./permissions.js";
import type { BotEvent, BotEventKind, Recorder } from "./recording.js";
import { addReactionRoutes } from "./rest-reactions.js";
import { addThreadRoutes } from "./rest-threads.js";
import { type RouteRequest, type RouteResult, Router } from "./router.js";
import {
	type AttachmentRec,
	attachmentToAPI,
	type Channel,
	ChannelFlags,
	ChannelType,
	Intents,
	type Json,
	Message,
	MessageFlags,
	type User,
	type World,
} from "./state.js";
import {
	callbackSchema,
	commandRuleErrors,
	type FieldError,
	isEmptyMessage,
	messageRuleErrors,
	modalRuleErrors,
	Schemas,
	specErrors,
	throwIfErrors,
} from "./validation.js";

export interface CommandRec {
	id: string;
	applicationId: string;
	guildId: string | null;
	version: string;
	json: Json;
}

export interface RestCore {
	world: World;
	clock: Clock;
	ids: Snowflakes;
	recorder: Recorder;
	applicationId: string;
	gatewayUrl: string;
	messageContentIntent: boolean;
	guildMembersIntent: boolean;
	/** Whether the app supports user installs: commands with integration type 1 are refused otherwise. */
	userInstallEnabled: boolean;
	commands: Map<string, CommandRec>;
	interactions: Map<string, Interaction>;
	applicationJson(): Json;
	/** Dispatch on the gateway (d may depend on the session's intents) to the shard of `guildId` (null: shard 0). */
	dispatch(
		t: string,
		d: unknown | ((intents: number) => unknown),
		intent: number | undefined,
		guildId: string | null,
	): void;
	/** GET /gateway/bot: url, recommended shards, session start limit. */
	gatewayBot(): Json;
	/** Record an error answered on an interaction's route (and a violation when it is one). */
	interactionError(ix: Interaction, err: DiscordError, req: RouteRequest): void;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Flags a bot may set on a message (others are dropped, as Discord does). */
const SETTABLE_FLAGS =
	MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2 | (1 << 13);

export function buildRoutes(core: RestCore): Router {
	const r = new Router();
	const { world } = core;
	const bot = world.botUser;
	const now = () => core.clock.now();

	// ---------------------------------------------------------------- helpers

	const channelOr404 = (id: string): Channel => {
		const ch = world.channels.get(id);
		if (!ch || ch.deleted) throw errors.unknownChannel();
		// Others' DMs and group DMs: the bot is not in them (user-installed commands reach it there
		// only through the interaction).
		if (!ch.botIsIn) throw errors.missingAccess();
		return ch;
	};

	const botPerms = (ch: Channel): bigint => (ch.guild ? ch.permissionsFor(bot.id) : ALL_DM);

	const requireView = (ch: Channel): void => {
		if (ch.guild && (botPerms(ch) & P.ViewChannel) === 0n) throw errors.missingAccess();
	};

	const requirePerms = (ch: Channel, needed: bigint): void => {
		if (!ch.guild) return;
		if ((botPerms(ch) & needed) !== needed) throw errors.missingPermissions();
	};

	const hideContentFor = (msg: Message, intents: number | null): boolean => {
		if (msg.author.id === bot.id) return false;
		if (!msg.channel.guild) return false;
		if (msg.content.includes(`<@${bot.id}>`) || msg.content.includes(`<@!${bot.id}>`)) return false;
		if (intents === null) return !core.messageContentIntent;
		return (intents & Intents.MessageContent) === 0;
	};

	const msgIntent = (ch: Channel) => (ch.guild ? Intents.GuildMessages : Intents.DirectMessages);

	const dispatchCreate = (msg: Message) => {
		if (msg.ephemeral || !msg.channel.botIsIn) return;
		core.dispatch(
			"MESSAGE_CREATE",
			(intents: number) => msg.toAPI({ gateway: true, hideContent: hideContentFor(msg, intents), nonce: true }),
			msgIntent(msg.channel),
			msg.guildId,
		);
	};
	const dispatchUpdate = (msg: Message) => {
		if (msg.ephemeral || !msg.channel.botIsIn) return;
		core.dispatch(
			"MESSAGE_UPDATE",
			(intents: number) => msg.toAPI({ gateway: true, hideContent: hideContentFor(msg, intents) }),
			msgIntent(msg.channel),
			msg.guildId,
		);
	};
	const dispatchDelete = (msg: Message) => {
		if (msg.ephemeral || !msg.channel.botIsIn) return;
		core.dispatch(
			"MESSAGE_DELETE",
			{ id: msg.id, channel_id: msg.channel.id, ...(msg.guildId ? { guild_id: msg.guildId } : {}) },
			msgIntent(msg.channel),
			msg.guildId,
		);
	};

	const event = (kind: BotEventKind, req: RouteRequest, msg: Message | null, extra: Partial<BotEvent> = {}) => {
		// The notifications the message now calls for (edits count too: stricter than Discord,
		// which does not always notify mentions added by an edit).
		if (msg && kind !== "delete") {
			for (const ping of newPings(msg, msg.pinged, now(), kind)) core.recorder.ping(ping);
		}
		core.recorder.event({
			kind,
			at: now(),
			method: req.method,
			path: req.path,
			channelId: msg?.channel.id ?? null,
			guildId: msg?.guildId ?? null,
			messageId: msg?.id ?? null,
			interactionId: msg?.interaction?.id ?? null,
			content: msg?.content ?? "",
			embeds: msg ? structuredClone(msg.embeds) : [],
			components: msg ? structuredClone(msg.components) : [],
			attachments: (msg?.attachments ?? []).map((a) => ({
				id: a.id,
				filename: a.filename,
				size: a.size,
				contentType: a.contentType,
				url: String(attachmentToAPI(a, world.hooks).url),
			})),
			flags: msg?.flags ?? 0,
			ephemeral: msg?.ephemeral ?? false,
			...extra,
		});
	};

	const readHead = (path: string): Buffer => {
		const fd = openSync(path, "r");
		try {
			const buf = Buffer.alloc(64 * 1024);
			const n = readSync(fd, buf, 0, buf.length, 0);
			return buf.subarray(0, n);
		} finally {
			closeSync(fd);
		}
	};

	/** New attachments from uploaded files (+ kept existing ones for edits), per the body's `attachments`. */
	const resolveAttachments = (
		body: Record<string, unknown>,
		files: UploadedFile[],
		scope: string,
		existing: AttachmentRec[] | null,
		prefix: Array<string | number>,
	): AttachmentRec[] => {
		const meta = Array.isArray(body.attachments) ? (body.attachments as unknown[]) : null;
		const out: AttachmentRec[] = [];
		const errs: FieldError[] = [];
		const fileByIndex = new Map(files.map((f) => [f.index, f]));
		const used = new Set<string>();
		if (meta) {
			meta.forEach((m, i) => {
				if (!isObj(m)) return;
				const id = String(m.id ?? "");
				const file = fileByIndex.get(id);
				if (file) {
					used.add(id);
					out.push(fromUpload(file, scope, m));
					return;
				}
				const old = existing?.find((a) => a.id === id);
				if (old) {
					out.push(old);
					return;
				}
				errs.push({
					path: [...prefix, "attachments", i, "id"],
					code: "ATTACHMENT_NOT_FOUND",
					message: `Unknown attachment id ${id}`,
				});
			});
		} else if (existing) {
			out.push(...existing);
		}
		for (const f of files) if (!used.has(f.index)) out.push(fromUpload(f, scope, null));
		throwIfErrors(errs);
		for (const a of out) world.attachments.set(a.id, a);
		return out;
	};

	const fromUpload = (file: UploadedFile, scope: string, meta: Record<string, unknown> | null): AttachmentRec => {
		const filename = typeof meta?.filename === "string" ? meta.filename : file.filename;
		const dims = imageSize(readHead(file.path));
		const type =
			file.contentType && file.contentType !== "application/octet-stream"
				? file.contentType
				: guessContentType(filename);
		return {
			id: core.ids.next(),
			filename,
			size: file.size,
			contentType: type,
			flags: 0,
			description: typeof meta?.description === "string" ? meta.description : null,
			title: typeof meta?.title === "string" ? meta.title : null,
			width: dims?.width ?? null,
			height: dims?.height ?? null,
			scope,
			ephemeral: false,
			source: { path: file.path },
		};
	};

	/** Applies content/embeds/components/flags/attachments of a create or edit body to a message. */
	const applyBody = (
		msg: Message,
		body: Record<string, unknown>,
		files: UploadedFile[],
		creating: boolean,
		prefix: Array<string | number>,
	) => {
		if (body.content !== undefined) msg.content = typeof body.content === "string" ? body.content : "";
		if (body.embeds !== undefined)
			msg.embeds = Array.isArray(body.embeds) ? (structuredClone(body.embeds) as Json[]) : [];
		if (body.components !== undefined)
			msg.components = Array.isArray(body.components) ? normalizeComponents(body.components) : [];
		if (typeof body.flags === "number") {
			const keep = msg.flags & (MessageFlags.Ephemeral | MessageFlags.Loading);
			msg.flags = keep | (body.flags & SETTABLE_FLAGS);
		}
		if (typeof body.tts === "boolean" && creating) msg.tts = body.tts;
		if (creating && (typeof body.nonce === "string" || typeof body.nonce === "number")) msg.nonce = body.nonce;
		if (creating && isObj(body.message_reference)) {
			msg.messageReference = {
				type: 0,
				channel_id: msg.channel.id,
				guild_id: msg.guildId ?? undefined,
				...body.message_reference,
			};
			msg.type = 19;
		}
		if (creating || body.content !== undefined || body.allowed_mentions !== undefined) {
			const ref = msg.messageReference ? world.messages.get(String(msg.messageReference.message_id ?? "")) : undefined;
			msg.mentionsOf = computeMentions({
				channel: msg.channel,
				content: msg.content,
				allowed: body.allowed_mentions,
				senderPermissions: botPerms(msg.channel),
				repliedTo: ref && !ref.deleted ? ref : null,
				author: msg.author,
			});
		}
		const scope = `attachments/${msg.channel.id}`;
		if (files.length > 0 || body.attachments !== undefined || creating) {
			msg.attachments = resolveAttachments(body, files, scope, creating ? null : msg.attachments, prefix);
		}
	};

	const isMessageEmpty = (msg: Message) =>
		msg.content.length === 0 && msg.embeds.length === 0 && msg.components.length === 0 && msg.attachments.length === 0;

	const validateMessage = (
		schema: (typeof Schemas)[keyof typeof Schemas],
		body: unknown,
		prefix: Array<string | number> = [],
	) => {
		const errs = specErrors(schema, body, prefix);
		if (isObj(body)) errs.push(...messageRuleErrors(body, prefix), ...allowedMentionsErrors(body, prefix));
		throwIfErrors(errs);
	};

	const bodyObject = (req: RouteRequest): Record<string, unknown> => {
		const b = req.body.json;
		if (b === undefined) return {};
		if (!isObj(b))
			throw errors.invalidFormBody({
				_errors: [{ code: "DICT_TYPE_CONVERT", message: "Only dictionaries may be used in a DictType" }],
			});
		return b;
	};

	// ---------------------------------------------------------------- gateway, users, application

	r.add("GET", "/gateway", () => ({ status: 200, body: { url: core.gatewayUrl } }), { auth: false });
	r.add("GET", "/gateway/bot", () => ({ status: 200, body: core.gatewayBot() }));
	r.add("GET", "/users/@me", () => ({
		status: 200,
		body: {
			...bot.toAPI(),
			verified: true,
			mfa_enabled: true,
			email: null,
			locale: "en-US",
			premium_type: 0,
			banner: null,
			accent_color: null,
			bio: "",
		},
	}));
	r.add("GET", "/users/{user_id}", (req) => {
		const user = world.users.get(req.params.get("user_id"));
		if (!user) throw errors.unknownUser();
		return { status: 200, body: { ...user.toAPI(), banner: null, accent_color: null } };
	});
	r.add("GET", "/users/@me/guilds", () => ({
		status: 200,
		body: [...world.guilds.values()]
			.filter((g) => !g.deleted)
			.map((g) => ({
				id: g.id,
				name: g.name,
				icon: null,
				banner: null,
				owner: false,
				permissions: g.botMember ? botBase(g).toString() : "0",
				features: [],
			})),
	}));
	const botBase = (g: { everyoneRole: { permissions: bigint }; botRole: { permissions: bigint } }) =>
		g.everyoneRole.permissions | g.botRole.permissions;
	r.add("POST", "/users/@me/channels", (req) => {
		const body = bodyObject(req);
		throwIfErrors(specErrors(Schemas.dmCreate, body));
		const user = world.users.get(String(body.recipient_id ?? ""));
		if (!user) throw new DiscordError(400, { message: "Invalid Recipient(s)", code: 50033 });
		if (user.bot) throw errors.cannotSendToUser();
		return { status: 200, body: world.dmChannel(user).toAPI() };
	});
	r.add("GET", "/applications/@me", () => ({ status: 200, body: core.applicationJson() }));

	// ---------------------------------------------------------------- commands

	const checkApp = (req: RouteRequest) => {
		if (req.params.get("application_id") !== core.applicationId) throw errors.unknownApplication();
	};
	const guildParam = (req: RouteRequest): string | null => {
		if (!req.route.includes("{guild_id}")) return null;
		const g = world.guilds.get(req.params.get("guild_id"));
		if (!g || g.deleted) throw errors.missingAccess();
		return g.id;
	};
	const listCommands = (guildId: string | null) =>
		[...core.commands.values()].filter((c) => c.applicationId === core.applicationId && c.guildId === guildId);
	const commandJson = (c: CommandRec): Json => ({
		...c.json,
		id: c.id,
		application_id: c.applicationId,
		version: c.version,
		// Discord still answers the deprecated `dm_permission` on global commands.
		...(c.guildId ? { guild_id: c.guildId } : { dm_permission: c.json.dm_permission ?? true }),
	});
	const normalizeCommand = (body: Record<string, unknown>): Json => {
		const out: Json = {
			type: typeof body.type === "number" ? body.type : 1,
			name: body.name,
			description: typeof body.description === "string" ? body.description : "",
			default_member_permissions:
				body.default_member_permissions == null ? null : String(body.default_member_permissions),
			contexts: Array.isArray(body.contexts) ? body.contexts : null,
			integration_types: Array.isArray(body.integration_types) ? body.integration_types : [0],
			nsfw: body.nsfw === true,
		};
		if (isObj(body.name_localizations)) out.name_localizations = body.name_localizations;
		if (isObj(body.description_localizations)) out.description_localizations = body.description_localizations;
		if (Array.isArray(body.options) && body.options.length > 0) out.options = structuredClone(body.options);
		if (typeof body.dm_permission === "boolean") out.dm_permission = body.dm_permission;
		return out;
	};
	/** Integration type 1 needs an app that supports user installs (the code name is the emulator's). */
	const installErrors = (cmd: Record<string, unknown>, prefix: Array<string | number>): FieldError[] => {
		if (core.userInstallEnabled || !Array.isArray(cmd.integration_types) || !cmd.integration_types.includes(1))
			return [];
		return [
			{
				path: [...prefix, "integration_types"],
				code: "APPLICATION_INTEGRATION_TYPE_NOT_SUPPORTED",
				message: "The application does not support the user install integration type",
			},
		];
	};
	const sameType = (a: Json, b: Json) => (a.type ?? 1) === (b.type ?? 1);
	const upsert = (guildId: string | null, json: Json): { rec: CommandRec; created: boolean } => {
		const existing = listCommands(guildId).find((c) => c.json.name === json.name && sameType(c.json, json));
		if (existing) {
			if (JSON.stringify(existing.json) !== JSON.stringify(json)) {
				existing.json = json;
				existing.version = core.ids.next();
			}
			return { rec: existing, created: false };
		}
		const id = core.ids.next();
		const rec: CommandRec = { id, applicationId: core.applicationId, guildId, version: id, json };
		core.commands.set(id, rec);
		return { rec, created: true };
	};
	const commandsEvent = (req: RouteRequest, guildId: string | null) =>
		event("commands", req, null, { guildId, commands: listCommands(guildId).map(commandJson) });

	for (const base of [
		"/applications/{application_id}/commands",
		"/applications/{application_id}/guilds/{guild_id}/commands",
	]) {
		r.add("GET", base, (req) => {
			checkApp(req);
			const full = req.query.get("with_localizations") === "true";
			const list = listCommands(guildParam(req)).map(commandJson);
			return { status: 200, body: full ? list : list.map((c) => withoutLocalizations(c) as Json) };
		});
		r.add("PUT", base, (req) => {
			checkApp(req);
			const guildId = guildParam(req);
			const body = req.body.json ?? [];
			if (!Array.isArray(body)) {
				throw errors.invalidFormBody({ _errors: [{ code: "BASE_TYPE_ARRAY", message: "Must be an array." }] });
			}
			const errs: FieldError[] = [];
			const names = new Map<string, number>();
			const counts = new Map<number, number>();
			body.forEach((cmd, i) => {
				errs.push(...specErrors(Schemas.commandUpdate, cmd, [i]));
				if (!isObj(cmd)) return;
				errs.push(...commandRuleErrors(cmd, [i]), ...installErrors(cmd, [i]));
				const type = typeof cmd.type === "number" ? cmd.type : 1;
				const key = `${type}:${String(cmd.name)}`;
				if (names.has(key))
					errs.push({
						path: [i, "name"],
						code: "APPLICATION_COMMANDS_DUPLICATE_NAME",
						message: "Application command names must be unique",
					});
				names.set(key, i);
				counts.set(type, (counts.get(type) ?? 0) + 1);
			});
			if ((counts.get(1) ?? 0) > 100)
				errs.push({ path: [], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 100 or fewer chat input commands." });
			if ((counts.get(2) ?? 0) > 15 || (counts.get(3) ?? 0) > 15)
				errs.push({
					path: [],
					code: "BASE_TYPE_MAX_LENGTH",
					message: "Must be 15 or fewer context menu commands of each type.",
				});
			throwIfErrors(errs);
			const keep = new Set<string>();
			for (const cmd of body as Record<string, unknown>[]) keep.add(upsert(guildId, normalizeCommand(cmd)).rec.id);
			for (const c of listCommands(guildId)) if (!keep.has(c.id)) core.commands.delete(c.id);
			commandsEvent(req, guildId);
			return { status: 200, body: listCommands(guildId).map(commandJson) };
		});
		r.add("POST", base, (req) => {
			checkApp(req);
			const guildId = guildParam(req);
			const body = bodyObject(req);
			throwIfErrors([
				...specErrors(Schemas.commandCreate, body),
				...commandRuleErrors(body, []),
				...installErrors(body, []),
			]);
			const { rec, created } = upsert(guildId, normalizeCommand(body));
			commandsEvent(req, guildId);
			return { status: created ? 201 : 200, body: commandJson(rec) };
		});
		const byId = (req: RouteRequest): CommandRec => {
			checkApp(req);
			const guildId = guildParam(req);
			const c = core.commands.get(req.params.get("command_id"));
			if (!c || c.guildId !== guildId) throw errors.unknownCommand();
			return c;
		};
		r.add("GET", `${base}/{command_id}`, (req) => ({ status: 200, body: commandJson(byId(req)) }));
		r.add("PATCH", `${base}/{command_id}`, (req) => {
			const c = byId(req);
			const body = bodyObject(req);
			const merged = { ...c.json, ...body };
			throwIfErrors([
				...specErrors(Schemas.commandPatch, body),
				...commandRuleErrors(merged, []),
				...installErrors(body, []),
			]);
			c.json = normalizeCommand(merged);
			c.version = core.ids.next();
			commandsEvent(req, c.guildId);
			return { status: 200, body: commandJson(c) };
		});
		r.add("DELETE", `${base}/{command_id}`, (req) => {
			const c = byId(req);
			core.commands.delete(c.id);
			commandsEvent(req, c.guildId);
			return { status: 204 };
		});
	}

	// ---------------------------------------------------------------- interaction callback

	const allowedCallbacks = (ix: Interaction): number[] => {
		switch (ix.type) {
			case InteractionType.ApplicationCommand:
				return [4, 5, 9];
			case InteractionType.MessageComponent:
				return [4, 5, 6, 7, 9];
			case InteractionType.Autocomplete:
				return [8];
			case InteractionType.ModalSubmit:
				return ix.sourceMessage ? [4, 5, 6, 7] : [4, 5];
			default:
				return [];
		}
	};

	const interactionMessageType = (ix: Interaction): number => {
		if (ix.type !== InteractionType.ApplicationCommand) return 0;
		const data = ix.payload.data as Json | undefined;
		return data?.type === 1 ? 20 : 23;
	};

	const newInteractionMessage = (ix: Interaction, flags: number): Message => {
		const msg = new Message(world, core.ids.next(), ix.channel, bot, interactionMessageType(ix));
		msg.flags = flags;
		msg.webhookId = core.applicationId;
		msg.applicationId = core.applicationId;
		msg.interaction = {
			id: ix.id,
			type: ix.type,
			user: ix.user,
			name:
				typeof (ix.payload.data as Json | undefined)?.name === "string"
					? String((ix.payload.data as Json).name)
					: undefined,
			commandType: (ix.payload.data as Json | undefined)?.type as number | undefined,
			interactedMessageId: ix.sourceMessage?.id,
			originalResponseMessageId: ix.parent?.original?.id,
			triggeringInteraction: ix.parent
				? {
						id: ix.parent.id,
						type: ix.parent.type,
						user: ix.parent.user,
						guildId: ix.parent.guild?.id ?? null,
						owners: ownersOf(ix.parent),
					}
				: undefined,
			guildId: ix.guild?.id ?? null,
			owners: ownersOf(ix),
		};
		return msg;
	};

	const ownersOf = (ix: Interaction): Record<string, string> | undefined =>
		isObj(ix.payload.authorizing_integration_owners)
			? (ix.payload.authorizing_integration_owners as Record<string, string>)
			: undefined;

	r.add(
		"POST",
		"/interactions/{interaction_id}/{interaction_token}/callback",
		(req) => {
			const ix = core.interactions.get(req.params.get("interaction_id"));
			if (!ix || ix.token !== req.params.get("interaction_token")) throw errors.unknownInteraction();
			try {
				return interactionCallback(ix, req);
			} catch (err) {
				if (err instanceof DiscordError) core.interactionError(ix, err, req);
				throw err;
			}
		},
		{ auth: false },
	);

	const interactionCallback = (ix: Interaction, req: RouteRequest): RouteResult => {
		const body = bodyObject(req);
		if (ix.callback) throw errors.alreadyAcknowledged();
		if (ix.ackWindowOver) throw errors.unknownInteraction();
		const type = body.type;
		const schema = callbackSchema(type);
		if (!schema || !allowedCallbacks(ix).includes(type as number)) {
			throw errors.invalidFormBody({
				type: {
					_errors: [
						{
							code: "INTERACTION_RESPONSE_TYPE_INVALID",
							message: `Interaction response type ${String(type)} is not valid for this interaction (type ${ix.type})`,
						},
					],
				},
			});
		}
		const errs = specErrors(schema, body);
		const data = isObj(body.data) ? body.data : null;
		if (data && (type === 4 || type === 7))
			errs.push(...messageRuleErrors(data, ["data"]), ...allowedMentionsErrors(data, ["data"]));
		if (data && type === 9) errs.push(...modalRuleErrors(data, ["data"]));
		throwIfErrors(errs);
		const files = req.body.files;
		let message: Message | null = null;
		switch (type) {
			case CallbackType.ChannelMessageWithSource: {
				const d = data ?? {};
				if (isEmptyMessage(d, files.length > 0)) throw errors.emptyMessage();
				const flags = typeof d.flags === "number" ? d.flags & (SETTABLE_FLAGS | MessageFlags.Ephemeral) : 0;
				message = newInteractionMessage(ix, flags);
				applyBody(message, d, files, true, ["data"]);
				world.addMessage(message);
				ix.original = message;
				break;
			}
			case CallbackType.DeferredChannelMessageWithSource: {
				const flags = typeof data?.flags === "number" ? data.flags & MessageFlags.Ephemeral : 0;
				message = newInteractionMessage(ix, flags | MessageFlags.Loading);
				world.addMessage(message);
				ix.original = message;
				break;
			}
			case CallbackType.DeferredUpdateMessage:
				ix.original = ix.sourceMessage;
				message = ix.sourceMessage;
				break;
			case CallbackType.UpdateMessage: {
				const target = ix.sourceMessage;
				if (!target) throw errors.unknownMessage();
				const before = snapshot(target);
				applyBody(target, data ?? {}, files, false, ["data"]);
				if (isMessageEmpty(target)) {
					restore(target, before);
					throw errors.emptyMessage();
				}
				target.editedAt = now();
				ix.original = target;
				message = target;
				dispatchUpdate(target);
				break;
			}
			case CallbackType.AutocompleteResult:
				ix.choices = (Array.isArray(data?.choices) ? data.choices : []) as NonNullable<Interaction["choices"]>;
				break;
			case CallbackType.Modal:
				ix.modal = structuredClone(data);
				break;
		}
		ix.callback = {
			type: type as number,
			data: data ? structuredClone(data) : null,
			at: now(),
			latencyMs: 0,
			withResponse: req.query.get("with_response") === "true",
		};
		ix.callback.latencyMs = ix.realElapsed();
		ix.disarm();
		if (message && (type === 4 || type === 5)) dispatchCreate(message);
		event("callback", req, message, {
			callbackType: type as number,
			interactionId: ix.id,
			channelId: ix.channel.id,
			guildId: ix.guild?.id ?? null,
		});
		if (req.query.get("with_response") !== "true") return { status: 204 };
		const response: Json = {
			interaction: {
				id: ix.id,
				type: ix.type,
				activity_instance_id: null,
				...(message
					? {
							response_message_id: message.id,
							response_message_loading: message.loading,
							response_message_ephemeral: message.ephemeral,
						}
					: {}),
			},
		};
		if (message && type !== 6) response.resource = { type, message: message.toAPI() };
		return { status: 200, body: response };
	};

	// ---------------------------------------------------------------- interaction webhooks

	const webhookIx = (req: RouteRequest): Interaction => {
		const appId = req.params.get("webhook_id");
		const token = req.params.get("webhook_token");
		const ix =
			appId === core.applicationId ? [...core.interactions.values()].find((i) => i.token === token) : undefined;
		if (!ix) throw new DiscordError(404, { message: "Unknown Webhook", code: 10015 }, "interaction");
		return ix;
	};

	const withIx = (handler: (ix: Interaction, req: RouteRequest) => RouteResult) => (req: RouteRequest) => {
		const ix = webhookIx(req);
		try {
			if (!ix.tokenValid) throw new DiscordError(401, { message: "Invalid Webhook Token", code: 50027 }, "interaction");
			if (!ix.callback) throw new DiscordError(404, { message: "Unknown Webhook", code: 10015 }, "interaction");
			return handler(ix, req);
		} catch (err) {
			if (err instanceof DiscordError) core.interactionError(ix, err, req);
			throw err;
		}
	};

	const ixMessage = (ix: Interaction, req: RouteRequest): Message => {
		const id = req.route.endsWith("@original") ? "@original" : req.params.get("message_id");
		if (id === "@original") {
			if (!ix.original || ix.originalDeleted || ix.original.deleted) throw errors.unknownMessage();
			return ix.original;
		}
		const msg = [ix.original, ...ix.followups].find((m) => m && m.id === id && !m.deleted);
		if (!msg) throw errors.unknownMessage();
		return msg;
	};

	r.add(
		"POST",
		"/webhooks/{webhook_id}/{webhook_token}",
		withIx((ix, req) => {
			const body = bodyObject(req);
			validateMessage(Schemas.webhookExecute, body);
			const files = req.body.files;
			if (isEmptyMessage(body, files.length > 0)) throw errors.emptyMessage();
			const wait = req.query.get("wait") === "true";
			// Right after a defer, the first followup edits the deferred response (Discord's compatibility rule).
			if (
				ix.callback?.type === 5 &&
				ix.original &&
				ix.original.loading &&
				ix.originalEditedAt === null &&
				!ix.originalDeleted
			) {
				const msg = ix.original;
				applyBody(msg, body, files, false, []);
				msg.flags &= ~MessageFlags.Loading;
				msg.editedAt = now();
				ix.originalEditedAt = now();
				dispatchUpdate(msg);
				event("edit", req, msg, { interactionId: ix.id });
				return wait ? { status: 200, body: msg.toAPI() } : { status: 204 };
			}
			const flags = typeof body.flags === "number" ? body.flags & (SETTABLE_FLAGS | MessageFlags.Ephemeral) : 0;
			const msg = newInteractionMessage(ix, flags);
			applyBody(msg, body, files, true, []);
			world.addMessage(msg);
			ix.followups.push(msg);
			dispatchCreate(msg);
			event("followup", req, msg, { interactionId: ix.id });
			return wait ? { status: 200, body: msg.toAPI() } : { status: 204 };
		}),
		{ auth: false },
	);

	for (const template of [
		"/webhooks/{webhook_id}/{webhook_token}/messages/@original",
		"/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
	]) {
		r.add(
			"GET",
			template,
			withIx((ix, req) => ({ status: 200, body: ixMessage(ix, req).toAPI() })),
			{ auth: false },
		);
		r.add(
			"PATCH",
			template,
			withIx((ix, req) => {
				const msg = ixMessage(ix, req);
				const body = bodyObject(req);
				validateMessage(Schemas.webhookEdit, body);
				const before = snapshot(msg);
				applyBody(msg, body, req.body.files, false, []);
				if (isMessageEmpty(msg)) {
					restore(msg, before);
					throw errors.emptyMessage();
				}
				msg.flags &= ~MessageFlags.Loading;
				msg.editedAt = now();
				if (msg === ix.original) ix.originalEditedAt = now();
				dispatchUpdate(msg);
				event("edit", req, msg, { interactionId: ix.id });
				return { status: 200, body: msg.toAPI() };
			}),
			{ auth: false },
		);
		r.add(
			"DELETE",
			template,
			withIx((ix, req) => {
				const msg = ixMessage(ix, req);
				msg.deleted = true;
				if (msg === ix.original) ix.originalDeleted = true;
				dispatchDelete(msg);
				event("delete", req, msg, { interactionId: ix.id });
				return { status: 204 };
			}),
			{ auth: false },
		);
	}

	// ---------------------------------------------------------------- channels and messages

	r.add("GET", "/channels/{channel_id}", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		return { status: 200, body: ch.toAPI() };
	});

	r.add("GET", "/channels/{channel_id}/messages", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		if (ch.guild && (botPerms(ch) & P.ReadMessageHistory) === 0n) return { status: 200, body: [] };
		const limit = Math.min(100, Math.max(1, Number(req.query.get("limit") ?? 50) || 50));
		let list = ch.messages().slice().reverse(); // newest first
		const before = req.query.get("before");
		const after = req.query.get("after");
		const around = req.query.get("around");
		if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
		if (after)
			list = list
				.filter((m) => BigInt(m.id) > BigInt(after))
				.reverse()
				.slice(0, limit)
				.reverse();
		if (around) {
			const idx = list.findIndex((m) => m.id === around);
			const half = Math.floor(limit / 2);
			list = idx < 0 ? [] : list.slice(Math.max(0, idx - half), idx - half + limit);
		}
		return { status: 200, body: list.slice(0, limit).map((m) => m.toAPI({ hideContent: hideContentFor(m, null) })) };
	});

	r.add("GET", "/channels/{channel_id}/messages/{message_id}", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		requirePerms(ch, P.ReadMessageHistory);
		const msg = world.messages.get(req.params.get("message_id"));
		if (!msg || msg.deleted || msg.channel !== ch || msg.ephemeral) throw errors.unknownMessage();
		return { status: 200, body: msg.toAPI({ hideContent: hideContentFor(msg, null) }) };
	});

	/** The oldest live bot message in `ch` with `nonce` within the window (newest first, stops at the window). */
	const recentWithNonce = (ch: Channel, nonce: string | number): Message | undefined => {
		let first: Message | undefined;
		for (let i = ch.messageIds.length - 1; i >= 0; i--) {
			const m = world.messages.get(ch.messageIds[i] ?? "");
			if (!m) continue;
			if (now() - m.createdAt > ENFORCED_NONCE_WINDOW_MS) break;
			if (!m.deleted && m.author.id === bot.id && m.nonce === nonce) first = m;
		}
		return first;
	};

	/**
	 * Posting in a thread: a locked one takes posts only from holders of Manage Threads (160005);
	 * an archived one is unarchived by the post (THREAD_UPDATE), as Discord does, unless locked.
	 */
	const enterThread = (ch: Channel): void => {
		if (!ch.thread) return;
		const moderator = (botPerms(ch) & P.ManageThreads) !== 0n;
		if (ch.thread.locked && !moderator) throw new DiscordError(400, { message: "Thread is locked", code: 160005 });
		if (ch.thread.archived) ch.setArchived(false);
	};

	r.add("POST", "/channels/{channel_id}/messages", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		if (!ch.isTextBased)
			throw new DiscordError(400, { message: "Cannot send messages in a non-text channel", code: 50008 });
		requireView(ch);
		const body = bodyObject(req);
		validateMessage(Schemas.messageCreate, body);
		const files = req.body.files;
		let needed = ch.isThread ? P.SendMessagesInThreads : P.SendMessages;
		if (Array.isArray(body.embeds) && body.embeds.length > 0) needed |= P.EmbedLinks;
		if (files.length > 0) needed |= P.AttachFiles;
		if (isObj(body.message_reference)) needed |= P.ReadMessageHistory;
		if (body.tts === true) needed |= P.SendTTSMessages;
		requirePerms(ch, needed);
		// The recipient closed DMs, or shares no guild with the bot and has not installed the app:
		// the channel opens, the message is refused. Not a violation: a bot cannot know beforehand.
		if (ch.recipient && !world.acceptsDMsFromBot(ch.recipient)) throw errors.cannotSendToUser();
		if (isEmptyMessage(body, files.length > 0)) throw errors.emptyMessage();
		enterThread(ch);
		if (isObj(body.message_reference)) {
			const ref = world.messages.get(String(body.message_reference.message_id ?? ""));
			if ((!ref || ref.deleted) && body.message_reference.fail_if_not_exists !== false) {
				throw errors.invalidFormBody({
					message_reference: { _errors: [{ code: "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", message: "Unknown message" }] },
				});
			}
		}
		if (body.enforce_nonce === true && (typeof body.nonce === "string" || typeof body.nonce === "number")) {
			// Discord: the same author's message with this nonce in the last few minutes is returned
			// as the answer, and nothing new is posted.
			const first = recentWithNonce(ch, body.nonce);
			if (first) return { status: 200, body: first.toAPI({ nonce: true }) };
		}
		const msg = new Message(world, core.ids.next(), ch, bot, 0);
		applyBody(msg, body, files, true, []);
		world.addMessage(msg);
		dispatchCreate(msg);
		event("message", req, msg);
		return { status: 200, body: msg.toAPI({ nonce: true }) };
	});

	r.add("PATCH", "/channels/{channel_id}/messages/{message_id}", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		const msg = world.messages.get(req.params.get("message_id"));
		if (!msg || msg.deleted || msg.channel !== ch || msg.ephemeral) throw errors.unknownMessage();
		const body = bodyObject(req);
		validateMessage(Schemas.messageEdit, body);
		if (msg.author.id !== bot.id) {
			const onlyFlags = Object.keys(body).every((k) => k === "flags");
			if (!onlyFlags) throw errors.cannotEditOthers();
			requirePerms(ch, P.ManageMessages);
		}
		if (Array.isArray(body.embeds) && body.embeds.length > 0) requirePerms(ch, P.EmbedLinks);
		if (req.body.files.length > 0) requirePerms(ch, P.AttachFiles);
		const before = snapshot(msg);
		applyBody(msg, body, req.body.files, false, []);
		if (isMessageEmpty(msg)) {
			restore(msg, before);
			throw errors.emptyMessage();
		}
		msg.editedAt = now();
		dispatchUpdate(msg);
		event("edit", req, msg);
		return { status: 200, body: msg.toAPI() };
	});

	r.add("DELETE", "/channels/{channel_id}/messages/{message_id}", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		const msg = world.messages.get(req.params.get("message_id"));
		if (!msg || msg.deleted || msg.channel !== ch || msg.ephemeral) throw errors.unknownMessage();
		if (msg.author.id !== bot.id) requirePerms(ch, P.ManageMessages);
		msg.deleted = true;
		dispatchDelete(msg);
		event("delete", req, msg);
		return { status: 204 };
	});

	// Modifying a thread (only its name is modelled): its owner may rename it, others need Manage Threads.
	r.add("PATCH", "/channels/{channel_id}", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		if (!ch.thread)
			throw new DiscordError(400, { message: "Only threads are modelled here", code: 0 }, "unknown-route");
		const body = bodyObject(req);
		const errs = specErrors(Schemas.threadUpdate, body);
		throwIfErrors(errs);
		const fields = Object.keys(body);
		if (fields.some((field) => field !== "name")) {
			throw new DiscordError(400, { message: "Only a thread's name is modelled", code: 0 }, "unknown-route");
		}
		if (ch.thread.ownerId !== bot.id) requirePerms(ch, P.ManageThreads);
		if (typeof body.name === "string") ch.rename(body.name);
		return { status: 200, body: ch.toAPI() };
	});

	// Deleting a channel: Manage Channels, or Manage Threads for a thread (its owner is not enough).
	r.add("DELETE", "/channels/{channel_id}", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		requirePerms(ch, ch.isThread ? P.ManageThreads : P.ManageChannels);
		const body = ch.toAPI();
		ch.delete();
		return { status: 200, body };
	});

	r.add("POST", "/channels/{channel_id}/typing", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		requirePerms(ch, ch.isThread ? P.SendMessagesInThreads : P.SendMessages);
		return { status: 204 };
	});

	// ---------------------------------------------------------------- forum posts, threads, crossposts

	r.add("POST", "/channels/{channel_id}/threads", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		if (!ch.isThreadOnly) {
			// Threads from a message or without one are not modelled: the bot only starts forum posts.
			throw new DiscordError(400, { message: "Only forum and media posts are modelled", code: 0 }, "unknown-route");
		}
		const body = bodyObject(req);
		const errs = specErrors(Schemas.forumThreadCreate, body);
		const message = isObj(body.message) ? body.message : {};
		errs.push(...messageRuleErrors(message, ["message"]), ...allowedMentionsErrors(message, ["message"]));
		const tags = Array.isArray(body.applied_tags) ? body.applied_tags.map(String) : [];
		tags.forEach((id, i) => {
			if (!ch.availableTags.some((tag) => tag.id === id)) {
				errs.push({ path: ["applied_tags", i], code: "TAG_INVALID", message: `Unknown tag ${id}` });
			}
		});
		throwIfErrors(errs);
		const files = req.body.files;
		// "Create Posts" in Discord's client is Send Messages on the forum.
		let needed = P.SendMessages;
		if (Array.isArray(message.embeds) && message.embeds.length > 0) needed |= P.EmbedLinks;
		if (files.length > 0) needed |= P.AttachFiles;
		if (tags.some((id) => ch.availableTags.find((tag) => tag.id === id)?.moderated)) needed |= P.ManageThreads;
		requirePerms(ch, needed);
		if ((ch.flags & ChannelFlags.RequireTag) !== 0 && tags.length === 0) {
			throw new DiscordError(400, { message: "A tag is required to create a forum post in this channel", code: 40067 });
		}
		if (isEmptyMessage(message, files.length > 0)) throw errors.emptyMessage();
		const thread = ch.createThread({ name: String(body.name), appliedTags: [...new Set(tags)] });
		// A forum post's first message has the thread's id.
		const msg = new Message(world, thread.id, thread, bot, 0);
		applyBody(msg, message, files, true, ["message"]);
		world.addMessage(msg);
		ch.lastMessageId = thread.id;
		dispatchCreate(msg);
		event("message", req, msg);
		return { status: 201, body: { ...thread.toAPI(), message: msg.toAPI() } };
	});

	r.add("GET", "/channels/{channel_id}/threads/archived/public", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		requirePerms(ch, P.ReadMessageHistory);
		const limit = Math.min(100, Math.max(2, Number(req.query.get("limit") ?? 50) || 50));
		const before = req.query.get("before");
		const beforeMs = before ? Date.parse(before) : Number.POSITIVE_INFINITY;
		const archived = [...world.channels.values()]
			.filter((c) => c.parentId === ch.id && c.type !== ChannelType.PrivateThread && c.thread?.archived)
			.filter((c) => (c.thread?.archivedAt ?? 0) < beforeMs)
			.sort((a, b) => (b.thread?.archivedAt ?? 0) - (a.thread?.archivedAt ?? 0));
		return {
			status: 200,
			body: {
				threads: archived.slice(0, limit).map((c) => c.toAPI()),
				members: [],
				has_more: archived.length > limit,
			},
		};
	});

	r.add("POST", "/channels/{channel_id}/messages/{message_id}/crosspost", (req) => {
		const ch = channelOr404(req.params.get("channel_id"));
		requireView(ch);
		if (ch.type !== ChannelType.GuildAnnouncement) {
			throw new DiscordError(400, { message: "Cannot execute action on this channel type", code: 50024 }, "validation");
		}
		const msg = world.messages.get(req.params.get("message_id"));
		if (!msg || msg.deleted || msg.channel !== ch || msg.ephemeral) throw errors.unknownMessage();
		requirePerms(ch, msg.author.id === bot.id ? P.SendMessages : P.SendMessages | P.ManageMessages);
		if ((msg.flags & MessageFlags.Crossposted) !== 0) {
			throw new DiscordError(400, { message: "This message has already been crossposted.", code: 40033 });
		}
		// 10 per hour per channel, whoever publishes (people too): a per-resource limit the bot
		// cannot see coming, answered like Discord's shared limits (scope shared, the real wait).
		const hourAgo = now() - CROSSPOST_WINDOW_MS;
		while ((ch.crosspostTimes[0] ?? Number.POSITIVE_INFINITY) <= hourAgo) ch.crosspostTimes.shift();
		if (ch.crosspostTimes.length >= CROSSPOSTS_PER_WINDOW) {
			const seconds = ((ch.crosspostTimes[0] ?? now()) + CROSSPOST_WINDOW_MS - now()) / 1000;
			throw new DiscordError(
				429,
				{ message: "The resource is being rate limited.", retry_after: Number(seconds.toFixed(3)), global: false },
				null,
				{ "Retry-After": String(Math.ceil(seconds)), "X-RateLimit-Scope": "shared" },
			);
		}
		ch.crosspostTimes.push(now());
		msg.flags |= MessageFlags.Crossposted;
		for (const target of ch.followers) {
			if (target.deleted) continue;
			const copy = new Message(world, core.ids.next(), target, crosspostAuthor(ch), 0);
			copy.content = msg.content;
			copy.embeds = structuredClone(msg.embeds);
			copy.flags = MessageFlags.IsCrosspost;
			copy.webhookId = copy.author.id;
			copy.messageReference = { type: 0, channel_id: ch.id, guild_id: ch.guild?.id, message_id: msg.id };
			world.addMessage(copy);
			dispatchCreate(copy);
		}
		dispatchUpdate(msg);
		event("crosspost", req, msg);
		return { status: 200, body: msg.toAPI() };
	});

	/** The follower webhook's user that posts an announcement channel's copies. */
	const crosspostAuthor = (source: Channel): User => {
		const name = `${source.guild?.name ?? "server"} #${source.name}`;
		const known = [...world.users.values()].find((u) => u.bot && u.username === name);
		return known ?? world.createUser({ username: name, bot: true });
	};

	// ---------------------------------------------------------------- guilds

	const guildOr404 = (id: string) => {
		const g = world.guilds.get(id);
		if (!g || g.deleted) throw errors.unknownGuild();
		return g;
	};
	r.add("GET", "/guilds/{guild_id}", (req) => {
		const g = guildOr404(req.params.get("guild_id"));
		const body: Json = g.toAPI();
		if (req.query.get("with_counts") === "true") {
			body.approximate_member_count = g.members.size;
			body.approximate_presence_count = 0;
		}
		return { status: 200, body };
	});
	r.add("GET", "/guilds/{guild_id}/channels", (req) => {
		const g = guildOr404(req.params.get("guild_id"));
		return { status: 200, body: g.channels.filter((c) => !c.isThread).map((c) => c.toAPI()) };
	});
	r.add("GET", "/guilds/{guild_id}/roles", (req) => {
		const g = guildOr404(req.params.get("guild_id"));
		return { status: 200, body: [...g.roles.values()].map((r) => r.toAPI()) };
	});
	r.add("GET", "/guilds/{guild_id}/roles/{role_id}", (req) => {
		const g = guildOr404(req.params.get("guild_id"));
		const role = g.roles.get(req.params.get("role_id"));
		if (!role) throw new DiscordError(404, { message: "Unknown Role", code: 10011 });
		return { status: 200, body: role.toAPI() };
	});
	r.add("GET", "/guilds/{guild_id}/members/{user_id}", (req) => {
		const g = guildOr404(req.params.get("guild_id"));
		const m = g.members.get(req.params.get("user_id"));
		if (!m) throw errors.unknownMember();
		return { status: 200, body: m.toAPI() };
	});
	r.add("GET", "/guilds/{guild_id}/members", (req) => {
		const g = guildOr404(req.params.get("guild_id"));
		if (!core.guildMembersIntent) throw errors.missingAccess();
		const limit = Math.min(1000, Math.max(1, Number(req.query.get("limit") ?? 1) || 1));
		const after = req.query.get("after") ?? "0";
		const list = [...g.members.values()]
			.filter((m) => BigInt(m.user.id) > BigInt(after))
			.sort((a, b) => (BigInt(a.user.id) < BigInt(b.user.id) ? -1 : 1))
			.slice(0, limit);
		return { status: 200, body: list.map((m) => m.toAPI()) };
	});
	r.add("GET", "/guilds/{guild_id}/threads/active", (req) => {
		const g = guildOr404(req.params.get("guild_id"));
		const visible = g.channels.filter((c) => c.isThread && !c.thread?.archived && c.visibleTo(world.botUser.id));
		return { status: 200, body: { threads: visible.map((c) => c.toAPI()), members: [] } };
	});

	// ---------------------------------------------------------------- reactions, threads from messages

	addReactionRoutes(r, {
		world,
		channelOr404,
		requireView,
		requirePerms,
		dispatch: (t, d, intent, guildId) => core.dispatch(t, d, intent, guildId),
		event: (kind, req, msg, emoji) => event(kind, req, msg, { emoji }),
	});
	addThreadRoutes(r, {
		world,
		channelOr404,
		requireView,
		requirePerms,
		bodyObject,
		dispatchUpdate,
		event: (req, msg, threadId) => event("thread", req, msg, { threadId }),
	});

	return r;
}

/**
 * A command as `GET …/commands` returns it without `?with_localizations=true`: Discord leaves out
 * the `name_localizations` / `description_localizations` maps at every level (command, options,
 * choices).
 */
function withoutLocalizations(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(withoutLocalizations);
	if (!isObj(value)) return value;
	const out: Json = {};
	for (const [key, field] of Object.entries(value)) {
		if (key === "name_localizations" || key === "description_localizations") continue;
		out[key] = key === "options" || key === "choices" ? withoutLocalizations(field) : field;
	}
	return out;
}

/** Crossposts allowed per announcement channel per window (Discord: 10 an hour). */
export const CROSSPOSTS_PER_WINDOW = 10;
export const CROSSPOST_WINDOW_MS = 60 * 60_000;

/** How long `enforce_nonce` remembers a nonce ("the past few minutes" in Discord's documentation). */
export const ENFORCED_NONCE_WINDOW_MS = 5 * 60_000;

const ALL_DM = P.ViewChannel | P.SendMessages | P.EmbedLinks | P.AttachFiles | P.ReadMessageHistory | P.AddReactions;

interface Snapshot {
	content: string;
	embeds: Json[];
	components: Json[];
	attachments: AttachmentRec[];
	flags: number;
	mentions: Message["mentionsOf"];
}

function snapshot(m: Message): Snapshot {
	return {
		content: m.content,
		embeds: m.embeds,
		components: m.components,
		attachments: m.attachments,
		flags: m.flags,
		mentions: m.mentionsOf,
	};
}

function restore(m: Message, s: Snapshot): void {
	m.content = s.content;
	m.embeds = s.embeds;
	m.components = s.components;
	m.attachments = s.attachments;
	m.flags = s.flags;
	m.mentionsOf = s.mentions;
}

/** Components as Discord returns them: buttons etc. get numeric `id`s when missing. */
function normalizeComponents(list: unknown[]): Json[] {
	let next = 1;
	const visit = (c: unknown): unknown => {
		if (!isObj(c)) return c;
		const out: Json = { ...c };
		if (typeof out.id !== "number") out.id = next;
		next++;
		for (const key of ["components", "items"])
			if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map(visit);
		if (isObj(out.accessory)) out.accessory = visit(out.accessory);
		if (isObj(out.component)) out.component = visit(out.component);
		return out;
	};
	return list.map((c) => visit(c) as Json);
}
