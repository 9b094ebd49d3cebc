import {
	ApplicationCommandOptionType,
	type ButtonInteraction,
	type ChatInputCommandInteraction,
	MessageFlags,
} from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { confirmedSlug, deleteCancelled, requirePostOwner } from "../src/bot/guards.js";
import { personalClient, personalIdentity, readerFor } from "../src/bot/identity.js";
import {
	assertKey,
	parseMediaRef,
	parsePostDetails,
	parsePostSlug,
	parseTags,
	SLUG,
	splitList,
} from "../src/bot/input.js";
import { visibilityChoices } from "../src/bot/options.js";
import { makePost, validationText } from "../src/bot/posts.js";
import { naming, recentMediaAutocomplete } from "../src/bot/readers.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import {
	boldText,
	channelAllowsNsfw,
	confirmRow,
	GALLERY_PAGE_SIZE,
	galleryPageCount,
	isPublic,
	POST_PAGE_BUTTON,
	postGallery,
	postSocialRow,
	postUrl,
} from "../src/discord/index.js";
import { named } from "../src/i18n/index.js";
import {
	ImgpileNotFoundError,
	ImgpileValidationError,
	type UpdatePostBody,
	type UpdatePostResponse,
} from "../src/imgpile/index.js";

const visibilityOption = {
	type: ApplicationCommandOptionType.String,
	name: "visibility",
	choices: visibilityChoices,
} as const;
const nsfwOption = { type: ApplicationCommandOptionType.Boolean, name: "nsfw" } as const;

/** `/post`: create, edit, tag, show, delete. */
export const data = chatCommand("post", {
	options: [
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "create",
			options: [
				{ type: ApplicationCommandOptionType.String, name: "media", required: true, autocomplete: true },
				{ type: ApplicationCommandOptionType.String, name: "title" },
				{ type: ApplicationCommandOptionType.String, name: "description" },
				{ type: ApplicationCommandOptionType.String, name: "tags" },
				visibilityOption,
				nsfwOption,
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "edit",
			options: [
				{ type: ApplicationCommandOptionType.String, name: "post", required: true },
				{ type: ApplicationCommandOptionType.String, name: "title" },
				{ type: ApplicationCommandOptionType.String, name: "description" },
				visibilityOption,
				nsfwOption,
				{ type: ApplicationCommandOptionType.String, name: "order" },
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "tag",
			options: [
				{ type: ApplicationCommandOptionType.String, name: "post", required: true },
				{ type: ApplicationCommandOptionType.String, name: "tags", required: true },
				{
					type: ApplicationCommandOptionType.String,
					name: "mode",
					choices: [
						{ value: "add", ...named("cmd.post.choice.add") },
						{ value: "replace", ...named("cmd.post.choice.replace") },
					],
				},
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "show",
			options: [
				{ type: ApplicationCommandOptionType.String, name: "post", required: true },
				{ type: ApplicationCommandOptionType.String, name: "key" },
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "delete",
			options: [{ type: ApplicationCommandOptionType.String, name: "post", required: true }],
		},
	],
});

export const POST_DELETE_BUTTON = "post-delete";
export const POST_DELETE_CANCEL_BUTTON = "post-delete-cancel";

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	switch (optionsOf(data, interaction).getSubcommand(true)) {
		case "create":
			return create(ctx, interaction);
		case "edit":
			return edit(ctx, interaction);
		case "tag":
			return tag(ctx, interaction);
		case "show":
			return show(ctx, interaction);
		case "delete":
			return askDelete(ctx, interaction);
	}
	throw new UserError("error.unknownAction");
}

// ── create ──────────────────────────────────────────────────────────────────

async function create(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const slugs = [...new Set(splitList(options.getString("media", true)).map(parseMediaRef))];
	if (slugs.length === 0) throw new UserError("input.noMedia");
	const body = detailsFrom(interaction, options.getString("tags"));
	const identity = await personalIdentity(ctx, interaction);
	await ctx.respond.defer({ ephemeral: true });
	const client = ctx.imgpile.as(identity.token);

	const found = await Promise.allSettled(slugs.map((slug) => client.getMedia(slug)));
	const ids: number[] = [];
	for (const [index, result] of found.entries()) {
		if (result.status === "fulfilled") ids.push(result.value.id);
		else if (result.reason instanceof ImgpileNotFoundError) {
			throw new UserError("imgpile.notFound", { what: ctx.t("what.media", { slug: slugs[index] ?? "?" }) });
		} else throw result.reason;
	}
	const post = await makePost(ctx, client, ids, body);
	const lines = [
		post.key
			? ctx.t("post.created.private", { link: `<${postUrl(post.slug, post.key)}>` })
			: ctx.t("post.created", { link: postUrl(post.slug) }),
		...post.notes,
	];
	await ctx.respond.reply({ content: lines.join("\n") });
}

/** title, description, visibility, nsfw (and, for create, tags) as given; refused before anything is sent when invalid. */
function detailsFrom(interaction: ChatInputCommandInteraction, tags: string | null = null): UpdatePostBody {
	const options = optionsOf(data, interaction);
	return parsePostDetails({
		title: options.getString("title"),
		description: options.getString("description"),
		tags,
		visibility: options.getString("visibility"),
		nsfw: options.getBoolean("nsfw"),
	});
}

// ── edit ────────────────────────────────────────────────────────────────────

async function edit(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const { slug } = parsePostSlug(options.getString("post", true));
	const body = detailsFrom(interaction);
	const order = options.getString("order");
	if (order !== null) {
		const slugs = splitList(order).map(parseMediaRef);
		if (slugs.length === 0 || new Set(slugs).size !== slugs.length) throw new UserError("post.order.invalid", { slug });
		body.media_order = slugs;
	}
	if (Object.keys(body).length === 0) throw new UserError("input.nothingToChange");
	const identity = await personalIdentity(ctx, interaction);
	let response: UpdatePostResponse;
	try {
		response = await naming(ctx.t("what.post", { slug }), () => ctx.imgpile.as(identity.token).updatePost(slug, body));
	} catch (error) {
		if (error instanceof ImgpileValidationError && Object.keys(error.errors).some((f) => f.startsWith("media_order"))) {
			throw new UserError("post.order.invalid", { slug });
		}
		throw error;
	}
	const key = response.visibility === "private" ? response.access_key : undefined;
	const content = key
		? ctx.t("post.updated.private", { slug, link: `<${postUrl(slug, key)}>` })
		: ctx.t("post.updated", { slug, link: postUrl(slug) });
	await ctx.respond.reply({ content, ephemeral: true });
}

// ── tag ─────────────────────────────────────────────────────────────────────

async function tag(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const { slug, key } = parsePostSlug(options.getString("post", true));
	const given = parseTags(options.getString("tags", true));
	if (given.length === 0) throw new UserError("input.noTags");
	const mode = options.getString("mode") ?? "add";
	if (mode !== "add" && mode !== "replace") throw new UserError("error.unknownAction");
	const client = await personalClient(ctx, interaction);
	const what = ctx.t("what.post", { slug });

	let tags = given;
	if (mode === "add") {
		await ctx.respond.defer({ ephemeral: true });
		const post = await naming(what, () => client.getPost(slug, { key, perPage: 1 }));
		if (post.tags === undefined) throw new UserError("post.tag.unknownCurrent", { slug });
		const known = new Set(post.tags.map((t) => t.toLowerCase()));
		tags = [...post.tags, ...given.filter((t) => !known.has(t.toLowerCase()))];
	}
	try {
		await naming(what, () => client.updatePost(slug, { tags }));
	} catch (error) {
		if (error instanceof ImgpileValidationError) {
			throw new UserError("post.tag.refused", { slug, details: validationText(error) });
		}
		throw error;
	}
	await ctx.respond.reply({
		content: ctx.t("post.tag.done", { slug, tags: tags.map((t) => `#${t}`).join(" ") }),
		ephemeral: true,
	});
}

// ── show and its page buttons ───────────────────────────────────────────────

async function show(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const ref = parsePostSlug(options.getString("post", true));
	const keyOption = options.getString("key");
	const key = keyOption === null ? ref.key : assertKey(keyOption.trim());
	const client = await readerFor(ctx, interaction);
	const post = await naming(ctx.t("what.post", { slug: ref.slug }), () =>
		client.getPost(ref.slug, { key, mediaPage: 1, perPage: GALLERY_PAGE_SIZE }),
	);
	// A post that is not public (private, hidden: `visibility` comes to its owner only) or one only
	// its owner can read is shown to the asker alone; only then may its key travel in the link and
	// in the page buttons.
	const personal = key !== undefined || !isPublic(post);
	const shownKey = personal ? (key ?? post.access_key ?? undefined) : undefined;
	const gallery = postGallery(ctx.t, {
		post,
		page: 1,
		nsfwAllowed: channelAllowsNsfw(interaction.channel),
		key: shownKey,
	});
	// Vote and follow buttons on posts others see (they act as whoever clicks).
	if (!personal) gallery.components.push(postSocialRow(ctx.t, post));
	await ctx.respond.reply({ ...gallery, ephemeral: personal, allowedMentions: { parse: [] } });
}

/** `post-page:{slug}:{page}[:{key}]`: another page of a gallery, in place. */
async function pageButton(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const [slug = "", pageText = "", key] = args;
	const page = Number(pageText);
	if (!SLUG.test(slug) || !Number.isInteger(page) || page < 1) {
		throw new UserError("error.unknownAction");
	}
	const client = await readerFor(ctx, interaction);
	const what = ctx.t("what.post", { slug });
	let post = await naming(what, () => client.getPost(slug, { key, mediaPage: page, perPage: GALLERY_PAGE_SIZE }));
	// A message others see is not turned into a view of a post that is no longer public (its owner
	// clicking reads it with their token): the clicker is told, and the message stays as it was.
	const shared = !interaction.message.flags.has(MessageFlags.Ephemeral);
	if (shared && !isPublic(post)) throw new UserError("post.notPublic", { slug });
	const pages = galleryPageCount(post);
	if (page > pages) {
		post = await naming(what, () => client.getPost(slug, { key, mediaPage: pages, perPage: GALLERY_PAGE_SIZE }));
	}
	const gallery = postGallery(ctx.t, {
		post,
		page: Math.min(page, pages),
		nsfwAllowed: channelAllowsNsfw(interaction.channel),
		key,
	});
	if (shared) gallery.components.push(postSocialRow(ctx.t, post));
	await ctx.respond.update({ ...gallery, allowedMentions: { parse: [] } });
}

// ── delete ──────────────────────────────────────────────────────────────────

async function askDelete(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const { slug, key } = parsePostSlug(optionsOf(data, interaction).getString("post", true));
	const identity = await personalIdentity(ctx, interaction);
	const post = await naming(ctx.t("what.post", { slug }), () =>
		ctx.imgpile.as(identity.token).getPost(slug, { key, perPage: 1 }),
	);
	// `visibility` is in the answer for the owner only.
	requirePostOwner(post, slug);
	const personal = post.visibility === "private" || post.moderation_status === "rejected";
	await ctx.respond.reply({
		content: ctx.t("post.delete.confirm", { title: boldText(post.title || ctx.t("post.untitled")), slug }),
		components: confirmRow(ctx.t, POST_DELETE_BUTTON, POST_DELETE_CANCEL_BUTTON, slug, interaction.user.id),
		ephemeral: personal,
		allowedMentions: { parse: [] },
	});
}

/** `post-delete:{slug}:{userId}`: only the user who asked may confirm; the delete runs as them. */
async function deleteConfirmed(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const slug = confirmedSlug(interaction, args);
	const identity = await personalIdentity(ctx, interaction);
	await naming(ctx.t("what.post", { slug }), () => ctx.imgpile.as(identity.token).deletePost(slug));
	ctx.log.info({ slug }, "post deleted");
	await ctx.respond.update({ content: ctx.t("post.delete.done", { slug }), embeds: [], components: [] });
}

export default {
	command: {
		data,
		execute,
		autocomplete: (ctx, interaction) => recentMediaAutocomplete(ctx, interaction, true),
	},
	buttons: {
		[POST_PAGE_BUTTON]: pageButton,
		[POST_DELETE_BUTTON]: deleteConfirmed,
		[POST_DELETE_CANCEL_BUTTON]: deleteCancelled,
	},
} satisfies CommandModule;
