/**
 * Discord emulator: a loopback Discord (REST + gateway + CDN) that the real discord.js Client
 * talks to as if it were Discord.
 *
 *   const discord = await startDiscordEmulator({ interactionAckTimeoutMs: 300 });
 *   const guild = discord.createGuild({ name: "Sandbox" });
 *   const general = guild.createChannel({ name: "general" });
 *   const alice = discord.createUser({ username: "alice" });
 *   guild.addMember(alice);
 *   const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.restUrl } });
 *   await client.login(discord.botToken);            // GET /gateway/bot, then the gateway
 *   ... the bot registers its commands (PUT /applications/{app}/commands) ...
 *   const ix = await discord.slash({ user: alice, channel: general, command: "imgpile", subcommand: "link" });
 *   await ix.settled();                              // reply / edit of the deferred reply / modal
 *   ix.reply?.content; ix.modal; ix.followups; discord.events; discord.assertNoViolations();
 *   await discord.close();
 *
 * Modules: emulator.ts (listeners, HTTP dispatch, driver), rest.ts (routes), gateway.ts,
 * cdn.ts, state.ts (world model + wire shapes), interactions.ts (interaction handles),
 * validation.ts (spec schemas + Discord's extra rules), ratelimit.ts, permissions.ts,
 * recording.ts (events, violations, requests, waitFor), router.ts, http.ts, clock.ts.
 *
 * Decisions (where Discord's behaviour had to be pinned down):
 * - URLs: restUrl = http://127.0.0.1:P/api (versions /v10 and /v9 accepted, unversioned too);
 *   gatewayUrl = ws://127.0.0.1:P/gateway (same port, returned by GET /gateway/bot); each
 *   session's resume_gateway_url is ws://127.0.0.1:P/gateway/resume/{node}: a RESUME on a new
 *   connection anywhere else gets INVALID_SESSION d: false (and a violation), as on Discord.
 *   cdnUrl = http://127.0.0.1:Q (attachment `url`, cdn.discordapp.com) and mediaUrl =
 *   http://127.0.0.1:R (`proxy_url`, media.discordapp.net): two more listeners, like two hosts;
 *   `cdnHosts` lists both. Plain http on loopback: bots must opt these hosts in for http.
 *   Embed media of user messages get a proxy_url like Discord's: the media listener for CDN files,
 *   https://images-ext-N.discordapp.net/external/... for other sites (not served: a bot must not
 *   fetch it). Attachments may lack content_type (spec contentType: null) and carry flags
 *   (spoilerFlag: IS_SPOILER).
 * - Gateway driver: dropGateway (close 4000, or op 9 d: false), requestReconnect (op 7),
 *   invalidateSession({ resumable }) (op 9 d: true / false), guildUnavailable / guildAvailable
 *   (an outage: GUILD_DELETE { unavailable: true }, also after READY of sessions started during
 *   it, none of the guild's events, no interactions there; then GUILD_CREATE). REST keeps working
 *   for the guild during an outage.
 * - Sharding (gateway.ts): IDENTIFY `shard: [id, count]` routes each guild's events (READY's
 *   guild list, GUILD_CREATE after it, interactions) to shard `(guild_id >> 22) % count`, events
 *   without a guild to shard 0; no `shard`: everything. 4010 for an invalid shard, 4011 below
 *   `requireSharding(n)`. GET /gateway/bot: `shards` one per 1,000 guilds (or `recommendedShards`
 *   / `recommendShards(n)`), `session_start_limit` counting IDENTIFYs (`sessionStartLimit` option);
 *   one IDENTIFY per bucket `shard_id % max_concurrency` per 5 s, else op 9 d: false and a
 *   violation. `createGuild({ shard: [id, count] })` picks an id on that shard; `gatewaySessions()`.
 * - discord.js 14.28 asks for zlib-stream only when `zlib-sync` is installed; it is not, so the
 *   client speaks plain JSON text frames. zlib-stream and IDENTIFY `compress` work anyway.
 * - Auth: `Authorization: Bot <token>` on every route but interaction callbacks and
 *   /webhooks/{app}/{token}... (discord.js sends those without auth, as Discord allows).
 * - Errors answer Discord's shapes. A *violation* is a request a correct bot never makes: invalid
 *   body (50035 / 50006 / 50109 / 40005), unknown route (404 code 0) or method (405), bad auth,
 *   acknowledging twice (40060), too late (10062, also recorded when the window passes with no
 *   callback at all), webhooks before the callback (10015) or after 15 minutes (50027), an
 *   unforced 429 (the bot ignored the rate-limit headers), missing permissions (50001 / 50013),
 *   gateway protocol errors. 404s on unknown channels/messages (10003/10008) are answered but
 *   not violations (they can be legitimate races). Tests provoking violations on purpose use
 *   `takeViolations()`; `assertNoViolations()` throws listing all.
 * - Check order: Cloudflare ban -> auth -> rate limits (global, route, shared) -> body (JSON /
 *   multipart) -> resource -> interaction state -> spec + rule validation (50035) -> permissions
 *   -> empty message (50006).
 * - Permissions: Discord's algorithm (owner, Administrator, @everyone, roles, overwrites for
 *   @everyone / roles / member; threads inherit the parent; no View Channel = nothing; without
 *   Send Messages, Embed Links / Attach Files / Mention Everyone / TTS are dropped). Channel
 *   messages need View Channel (else 50001 Missing Access, as Discord answers) and Send Messages
 *   (Send Messages in Threads in threads), Embed Links with embeds, Attach Files with files, Read
 *   Message History for replies -> 50013. Interaction responses and followups need no channel
 *   permissions (they are webhooks), as on Discord.
 * - Interactions: 3 s (configurable) to call back, measured on real time and on the clock; 15
 *   minutes (clock) for followups / @original. Callback types allowed per interaction type as
 *   Discord does (autocomplete -> 8 only; 6/7 only for components and modals opened from them;
 *   no modal in answer to a modal). A followup right after a defer (type 5) edits the deferred
 *   response, as Discord's compatibility rule says. `with_response=true` answers the interaction
 *   callback response shape, otherwise 204.
 * - Messages: content <= 2000 (the spec says 4000: that is for Nitro users), embeds <= 10 and
 *   6000 characters in total with per-field limits, at most 5 action rows (without the
 *   IS_COMPONENTS_V2 flag) of at most 5 buttons or one select, unique custom ids. Ephemeral
 *   messages are not listed in channels nor fetchable there. Uploads: multipart `payload_json` +
 *   `files[n]`, at most 10 MiB per request (uploadLimitBytes) -> 413 code 40005.
 * - Mentions (mentions.ts): computed from the content only, as Discord does: `allowed_mentions`
 *   (absent: parse everything and ping a replied-to author; present: only what it allows,
 *   `replied_user` off by default), then permissions (@everyone/@here need Mention Everyone; roles
 *   ping when mentionable or with Mention Everyone). Stored as `mentions`, `mention_roles`,
 *   `mention_everyone`; every notification lands in `pings` (users who can see the channel, roles,
 *   everyone/here; never for ephemeral messages; also when an edit adds one, stricter than Discord).
 * - URLs in embeds and link buttons: well formed (no whitespace, http(s) with a host), at most
 *   2048 (buttons 512), scheme http(s) (images and icons also `attachment`, buttons `discord`);
 *   else 50035 `URL_TYPE_INVALID_URL` / `URL_TYPE_INVALID_SCHEME` with Discord's messages.
 * - Forum (15) and media (16) channels: `setTags` (available_tags, REQUIRE_TAG), posts by
 *   POST /channels/{id}/threads (CreateForumThreadRequest, `message` checked like a message):
 *   Send Messages ("Create Posts"), Embed Links with embeds, Manage Threads for moderated tags;
 *   unknown tags 50035, no tag where required 40067. The post's first message has the thread's id.
 *   GET /guilds/{id}/threads/active lists unarchived threads, GET
 *   /channels/{id}/threads/archived/public the archived ones (newest archived first).
 * - Threads: posting needs Send Messages in Threads (not Send Messages); a locked thread refuses
 *   (160005) unless the bot has Manage Threads; a post in an archived thread unarchives it
 *   (THREAD_UPDATE), as Discord does. `setArchived`, `setLocked` for tests.
 * - Crossposts (announcement channels): own messages need Send Messages, others' also Manage
 *   Messages; sets CROSSPOSTED, copies go to the channels that `follow` it (IS_CROSSPOST, posted
 *   by a follower webhook user); twice is 40033; other channel types 50024 (violation). 10 per
 *   hour per channel on the clock, whoever publishes: past it a 429 of scope `shared` whose
 *   Retry-After / retry_after is the real wait (up to an hour), not a violation.
 * - Nonces: only the create response and MESSAGE_CREATE carry `nonce`, never a GET. With
 *   `enforce_nonce: true`, the bot's message with the same nonce in the same channel within
 *   ENFORCED_NONCE_WINDOW_MS (5 minutes, clock) is answered (200) instead of posting again.
 * - Commands: `GET …/commands` leaves out name/description localization maps (command, options,
 *   choices) unless `?with_localizations=true`, as Discord does.
 * - MESSAGE_CREATE/UPDATE/DELETE are dispatched only to sessions with GuildMessages (or
 *   DirectMessages) intents; content, embeds, attachments and components are blank without the
 *   MessageContent intent (unless the bot is mentioned or wrote it), on REST too unless
 *   `privilegedIntents.messageContent`. Requesting a privileged intent not enabled closes 4014.
 * - Rate limits (ratelimit.ts), fixed windows on real time: global 50/s per bot token (interaction
 *   callbacks and webhooks exempt; 429 `global: true`, X-RateLimit-Global, scope global, no bucket
 *   headers); per route + major parameter, defaults 5/5 s for channel messages, 5/2 s for
 *   interaction webhooks, 50/s otherwise, none on callbacks. Headers
 *   X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket on every counted response; 429s add
 *   Retry-After (whole seconds, rounded up) and X-RateLimit-Scope, body retry_after in seconds.
 *   Shared (per-resource) limits via `limitResource()` answer scope `shared`, not violations.
 *   Invalid requests (401, 403, 429 but shared) are counted in a sliding 10-minute window
 *   (`invalidRequests()`); the 10,001st records an "invalid-requests" violation and starts a
 *   Cloudflare-like ban: every REST request gets a plain-text 429 ("error code: 1015") with
 *   Retry-After, for an hour (all configurable in `rateLimits`).
 * - CDN: signed urls with ex/is/hm like Discord's, fresh ones on every read of a message (24 h by
 *   default); expired, badly signed or mismatched paths: 404 "This content is no longer
 *   available.". Range requests are served. Interaction option attachments live under
 *   /ephemeral-attachments/{app}/...
 *   Every CDN request is recorded in `cdnRequests` (path without the signature, status, whether the
 *   response finished), so tests can check that nothing was downloaded, or when a download ended.
 */
import { DiscordEmulator, type DiscordEmulatorOptions } from "./emulator.js";

export { type CdnRequest, generatedBytes } from "./cdn.js";
export { type Clock, ManualClock, systemClock } from "./clock.js";
export type {
	AutocompleteInput,
	ButtonInput,
	DiscordEmulatorOptions,
	InjectedFailure,
	ModalInput,
	OptionValue,
	SelectInput,
	SlashInput,
	UserMessageInput,
} from "./emulator.js";
export { DiscordEmulator } from "./emulator.js";
export type { GatewayLogEntry } from "./gateway.js";
export type { ViolationKind } from "./http.js";
export { type InstallVia, RESPONSE_ONLY_PERMISSIONS } from "./installs.js";
export { type CallbackRecord, CallbackType, Interaction, InteractionType } from "./interactions.js";
export type { Ping } from "./mentions.js";
export {
	ALL_PERMISSIONS,
	DEFAULT_BOT_PERMISSIONS,
	DEFAULT_EVERYONE_PERMISSIONS,
	type PermissionInput,
	type PermissionName,
} from "./permissions.js";
export type {
	ForcedRateLimit,
	InvalidRequestLimit,
	RateLimitOptions,
	RateLimitRule,
	RateLimitScope,
} from "./ratelimit.js";
export type { BotEvent, BotEventKind, RecordedRequest, Violation } from "./recording.js";
export { CROSSPOST_WINDOW_MS, CROSSPOSTS_PER_WINDOW, ENFORCED_NONCE_WINDOW_MS } from "./rest.js";
export { MAX_REACTION_EMOJIS } from "./rest-reactions.js";
export {
	type AttachmentRec,
	type AttachmentSource,
	type AttachmentSpec,
	Channel,
	ChannelFlags,
	ChannelType,
	type CustomEmoji,
	type ForumTag,
	Guild,
	Intents,
	type Json,
	Member,
	Message,
	MessageFlags,
	Role,
	User,
} from "./state.js";

export async function startDiscordEmulator(opts: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
	return DiscordEmulator.start(opts);
}
