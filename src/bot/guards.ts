/**
 * Who may do what, as small checks a handler runs first: each one throws the UserError that
 * tells the user why not, or returns what it checked.
 */
import { type BaseInteraction, type ButtonInteraction, PermissionFlagsBits } from "discord.js";
import type { Translate } from "../i18n/index.js";
import type { Post } from "../imgpile/index.js";
import type { UploadRecord } from "../store/index.js";
import { UserError } from "./errors.js";
import { SLUG } from "./input.js";
import type { HandlerContext } from "./types.js";

/** Whether the member may manage the server (Manage Server), in a server. */
export function isManager<T extends BaseInteraction>(
	interaction: T,
): interaction is T & BaseInteraction<"cached" | "raw"> {
	return interaction.inGuild() && interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) === true;
}

/**
 * The server, when the member has Manage Server there. Checked by the bot even where the
 * command's default_member_permissions asks for it: a server can override those.
 */
export function requireManager(t: Translate, interaction: BaseInteraction): string {
	if (!interaction.inGuild()) throw new UserError("error.guildOnly");
	if (!isManager(interaction)) {
		throw new UserError("error.missingPermission", { permission: t("perm.manageGuild") });
	}
	return interaction.guildId;
}

/** The record of an upload made by this user (its Delete and Make post buttons are theirs alone). */
export async function requireUploader(
	ctx: Pick<HandlerContext, "store">,
	who: { user: { id: string } },
	slug: string,
): Promise<UploadRecord> {
	if (!SLUG.test(slug)) throw new UserError("error.unknownAction");
	const record = await ctx.store.uploads.get(slug);
	if (!record) throw new UserError("upload.unknown", { slug });
	if (record.userId !== who.user.id) throw new UserError("upload.notYours");
	return record;
}

/** A post read with the user's token is theirs when imgpile tells its `visibility` (sent to the owner only). */
export function requirePostOwner(post: Pick<Post, "visibility">, slug: string): void {
	if (post.visibility === undefined) throw new UserError("post.delete.notOwner", { slug });
}

/** The slug of a deletion's confirm or cancel button (`name:{slug}:{userId}`), pressed by the user who asked. */
export function confirmedSlug(interaction: { user: { id: string } }, args: string[]): string {
	const [slug = "", requester] = args;
	if (!SLUG.test(slug)) throw new UserError("error.unknownAction");
	if (requester !== undefined && requester !== interaction.user.id) throw new UserError("delete.notYours");
	return slug;
}

/** The cancel button of a deletion's confirmation: only the user who asked may press it. */
export async function deleteCancelled(
	ctx: HandlerContext,
	interaction: ButtonInteraction,
	args: string[],
): Promise<void> {
	confirmedSlug(interaction, args);
	await ctx.respond.update({ content: ctx.t("delete.cancelled"), embeds: [], components: [] });
}
