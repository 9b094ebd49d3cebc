/**
 * English strings: the reference locale. Every other locale must provide the same keys
 * (checked by the type of `zh-CN.ts`). `{name}` placeholders are filled by `t()`.
 * Keys starting with `cmd.` feed Discord's command names/descriptions (localizations).
 */
export const enUS = {
	// ── command definitions ──
	"cmd.imgpile.name": "imgpile",
	"cmd.imgpile.link.name": "link",
	"cmd.imgpile.unlink.name": "unlink",
	"cmd.imgpile.status.name": "status",
	"cmd.imgpile.sharex.name": "sharex",
	"cmd.imgpile.server-token.name": "server-token",
	"cmd.imgpile.server-token.set.name": "set",
	"cmd.imgpile.server-token.clear.name": "clear",
	"cmd.imgpile.option.cap.name": "cap",
	"perm.manageGuild": "Manage Server",
	"cmd.imgpile.description": "Link your imgpile account and manage the bot's imgpile settings",
	"cmd.imgpile.link.description": "Link your imgpile token (only you see it)",
	"cmd.imgpile.unlink.description": "Forget your imgpile token here",
	"cmd.imgpile.status.description": "Show whether your imgpile account is linked and today's uploads",
	"cmd.imgpile.sharex.description": "Get a ShareX uploader file for your own token",
	"cmd.imgpile.server-token.description": "Server-wide imgpile token for members without their own (Manage Server)",
	"cmd.imgpile.server-token.set.description": "Set the server token and the daily upload cap per member",
	"cmd.imgpile.server-token.clear.description": "Remove the server token",
	"cmd.imgpile.option.cap.description": "Uploads per member per day with the server token (default 20)",

	// ── generic ──
	"error.unexpected": "Something went wrong on our side. If it keeps happening, tell the bot's admins this id: `{id}`.",
	"error.guildOnly": "This only works in a server.",
	"error.missingPermission": "You need the **{permission}** permission for this.",
	"error.interactionExpired": "This took too long and Discord gave up waiting. Please try again.",
	"error.shuttingDown": "The bot is restarting. Try again in a few seconds.",
	"error.unknownAction": "This button or form is no longer supported. Run the command again.",

	// ── imgpile errors, as users see them ──
	"imgpile.unauthorized":
		"imgpile did not accept your token: it may have been revoked. Run `/imgpile link` with a new one.",
	"imgpile.forbidden": "imgpile says only the owner can do that.",
	"imgpile.notFound": "imgpile could not find {what}.",
	"imgpile.validation": "imgpile refused this: {details}",
	"imgpile.rateLimited": "imgpile is rate limiting us. Try again in {seconds} s.",
	"imgpile.notAllowed": "imgpile does not allow this file.",
	"imgpile.server": "imgpile is having trouble right now (error {status}). Try again in a minute.",
	"imgpile.network": "Could not reach imgpile. Try again in a minute.",
	"imgpile.timeout": "imgpile took too long to answer. Try again in a minute.",
	"imgpile.tooLarge": "That file is larger than imgpile's 100 MB limit.",

	"identity.needsLink": "Link your imgpile account first: run `/imgpile link`.",
	"identity.serverCapReached":
		"This server's shared imgpile token allows {cap} file(s) a day per member, and you have {remaining} left today. Link your own with `/imgpile link`.",

	// ── /imgpile ──
	"link.modal.title": "Link your imgpile account",
	"link.modal.label": "imgpile API token (only you can see this)",
	"link.modal.placeholder": "Paste the token from your imgpile profile",
	"link.checking": "Checking your token with imgpile…",
	"link.invalid": "imgpile did not accept that token. Copy it again from your imgpile profile and run `/imgpile link`.",
	"link.done.guild": "Linked. Your token ending in `{last4}` will be used in this server.",
	"link.done.dm":
		"Linked. Your token ending in `{last4}` will be used in every server where you have not linked another one.",
	"link.empty": "The token was empty. Run `/imgpile link` and paste your token.",
	"unlink.done": "Your imgpile token was removed here.",
	"unlink.none": "You had no imgpile token linked here.",
	"status.linked.guild": "Linked in this server (token ending in `{last4}`, since {since}).",
	"status.linked.dm":
		"Linked through DMs (token ending in `{last4}`, since {since}); used in every server where you have not linked another token.",
	"status.serverToken":
		"Not linked. This server has a shared token: you can upload {remaining} more file(s) today with it.",
	"status.notLinked": "Not linked. Run `/imgpile link` to connect your imgpile account.",
	"status.uploads": "Uploads through the bot today: {count}. imgpile allows {remaining} more today (1,000 per day).",
	"serverToken.modal.title": "Server-wide imgpile token",
	"serverToken.modal.label": "imgpile API token for this server",
	"serverToken.set":
		"Server token ending in `{last4}` saved. Members without their own token may upload {cap} file(s) a day with it.",
	"serverToken.cleared": "Server token removed.",
	"serverToken.none": "This server has no token set.",
	"serverToken.invalid": "imgpile did not accept that token; nothing was changed.",
	"sharex.needsLink": "Link your own token first with `/imgpile link`: the ShareX file is built for it.",
	"sharex.ready":
		"Here is your ShareX uploader. Open it with ShareX (or import it under Destinations → Custom uploader settings). It contains your token: do not share it.",
} as const;

export type MessageKey = keyof typeof enUS;
export type Messages = { readonly [K in MessageKey]: string };
