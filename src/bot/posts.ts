import { postUrl } from "../discord/index.js";
import type { ImgpileClient, UpdatePostBody, UpdatePostResponse } from "../imgpile/index.js";
import { ImgpileValidationError } from "../imgpile/index.js";
import { userMessage } from "./errors.js";
import type { HandlerContext } from "./types.js";

/** Making and changing imgpile posts, shared by /post, /upload and rehost. */

export interface MadePost {
	slug: string;
	/** The access key of a private post. */
	key: string | undefined;
	/** Notes for the user (tags refused, details refused). */
	notes: string[];
}

/**
 * `POST /posts` with the media in order, then one PATCH with the details. When imgpile refuses
 * only the tags (422 on `tags`), the rest is sent again without them and the user is told; when
 * it refuses the details, the post stays and the user is told.
 */
export async function makePost(
	ctx: HandlerContext,
	client: ImgpileClient,
	mediaIds: readonly number[],
	details: UpdatePostBody,
): Promise<MadePost> {
	const post = await client.createPost(mediaIds);
	const notes: string[] = [];
	let response: UpdatePostResponse | undefined;
	if (Object.keys(details).length > 0) {
		try {
			const patched = await patchWithTags(client, post.slug, details);
			response = patched.response;
			if (patched.tagsRefused !== undefined) notes.push(ctx.t("post.tagsRefused", { details: patched.tagsRefused }));
		} catch (error) {
			const details = userMessage(ctx.t, error);
			if (details === undefined) throw error;
			notes.push(ctx.t("post.detailsRefused", { link: `<${postUrl(post.slug)}>`, details }));
		}
	}
	const key = response?.visibility === "private" ? (response.access_key ?? undefined) : undefined;
	return { slug: post.slug, key, notes };
}

/**
 * PATCH with `tags` (docs/ARCHITECTURE.md, imgpile API decision 3): when imgpile refuses only the tags (422 on `tags`),
 * the rest is sent again without them and the refusal is returned for the user to read.
 */
export async function patchWithTags(
	client: ImgpileClient,
	slug: string,
	body: UpdatePostBody,
): Promise<{ response: UpdatePostResponse | undefined; tagsRefused: string | undefined }> {
	try {
		return { response: await client.updatePost(slug, body), tagsRefused: undefined };
	} catch (error) {
		if (!(error instanceof ImgpileValidationError) || body.tags === undefined) throw error;
		const fields = Object.keys(error.errors);
		const { tags: _tags, ...rest } = body;
		const onlyTags = fields.length > 0 ? fields.every(isTagField) : Object.keys(rest).length === 0;
		if (!onlyTags) throw error;
		const details = validationText(error);
		if (Object.keys(rest).length === 0) return { response: undefined, tagsRefused: details };
		return { response: await client.updatePost(slug, rest), tagsRefused: details };
	}
}

function isTagField(field: string): boolean {
	return field === "tags" || field.startsWith("tags.");
}

export function validationText(error: ImgpileValidationError): string {
	const messages = Object.values(error.errors).flat();
	return messages.length > 0 ? messages.join(" ") : (error.apiMessage ?? error.message);
}
