/**
 * Request body validation: every body is checked against the matching discord-api-spec schema,
 * then against the rules Discord enforces that the spec does not express (bot content 2000,
 * embed totals 6000, five action rows, unique custom ids, command option order, ...). Failures
 * become Discord's `{ code: 50035, message: "Invalid Form Body", errors }` tree.
 */
import * as spec from "discord-api-spec/zod";
import type { ZodMiniType } from "zod/mini";
import { errors as httpErrors } from "./http.js";

export type Path = ReadonlyArray<string | number>;

export interface FieldError {
	path: Path;
	code: string;
	message: string;
}

export const Limits = {
	content: 2000,
	embeds: 10,
	embedTotal: 6000,
	embedTitle: 256,
	embedDescription: 4096,
	embedFields: 25,
	embedFieldName: 256,
	embedFieldValue: 1024,
	embedFooter: 2048,
	embedAuthor: 256,
	actionRows: 5,
	rowButtons: 5,
	customId: 100,
	attachments: 10,
	modalComponents: 5,
	choices: 25,
	commandOptions: 25,
	chatInputCommands: 100,
	contextCommands: 15,
} as const;

type Schema = ZodMiniType;

export const Schemas = {
	commandCreate: spec.ApplicationCommandCreateRequestSchema,
	commandUpdate: spec.ApplicationCommandUpdateRequestSchema,
	commandPatch: spec.ApplicationCommandPatchRequestPartialSchema,
	webhookExecute: spec.IncomingWebhookRequestPartialSchema,
	webhookEdit: spec.IncomingWebhookUpdateRequestPartialSchema,
	messageCreate: spec.MessageCreateRequestSchema,
	forumThreadCreate: spec.CreateForumThreadRequestSchema,
	threadUpdate: spec.UpdateThreadRequestPartialSchema,
	threadFromMessage: spec.CreateTextThreadWithMessageRequestSchema,
	messageEdit: spec.MessageEditRequestPartialSchema,
	dmCreate: spec.CreatePrivateChannelRequestSchema,
} satisfies Record<string, Schema>;

/** The callback schema for an interaction response type (1, 4-9, 12). */
export function callbackSchema(type: unknown): Schema | null {
	switch (type) {
		case 1:
			return spec.PongInteractionCallbackRequestSchema;
		case 4:
		case 5:
			return spec.CreateMessageInteractionCallbackRequestSchema;
		case 6:
		case 7:
			return spec.UpdateMessageInteractionCallbackRequestSchema;
		case 8:
			return spec.ApplicationCommandAutocompleteCallbackRequestSchema;
		case 9:
			return spec.ModalInteractionCallbackRequestSchema;
		case 12:
			return spec.LaunchActivityInteractionCallbackRequestSchema;
		default:
			return null;
	}
}

/**
 * Where the spec is stricter than Discord: Discord documents and accepts `default_member_permissions`
 * as a string of digits (discord.js sends that), the spec types it as a number.
 */
function specQuirks(body: unknown): unknown {
	const fix = (v: unknown): unknown => {
		if (!isObj(v) || typeof v.default_member_permissions !== "string" || !/^\d+$/.test(v.default_member_permissions))
			return v;
		return { ...v, default_member_permissions: Number(v.default_member_permissions) };
	};
	return Array.isArray(body) ? body.map(fix) : fix(body);
}

interface ZIssue {
	code: string;
	path: PropertyKey[];
	message: string;
	input?: unknown;
	expected?: string;
	maximum?: number | bigint;
	minimum?: number | bigint;
	origin?: string;
	format?: string;
	values?: unknown[];
	errors?: ZIssue[][];
}

/** Validates `body` against a spec schema; returns Discord-style field errors (empty when valid). */
export function specErrors(schema: Schema, body: unknown, prefix: Path = []): FieldError[] {
	const result = schema.safeParse(specQuirks(body), { reportInput: true });
	if (result.success) return [];
	return (result.error.issues as unknown as ZIssue[]).flatMap((i) => issueToErrors(i, prefix));
}

function issueToErrors(issue: ZIssue, prefix: Path): FieldError[] {
	const path = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
	if (issue.code === "invalid_union" && issue.errors && issue.errors.length > 0) {
		// Report the branch that got furthest (its first issue has the longest path).
		const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
		if (best && depth(best) > 0) return best.flatMap((i) => issueToErrors(i, path));
	}
	return [{ path, ...describe(issue) }];
}

function depth(issues: ZIssue[]): number {
	return Math.max(0, ...issues.map((i) => i.path.length));
}

function describe(issue: ZIssue): { code: string; message: string } {
	const n = (v: number | bigint | undefined) => String(v ?? "");
	switch (issue.code) {
		case "too_big":
			if (issue.origin === "string" || issue.origin === "array")
				return { code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${n(issue.maximum)} or fewer in length.` };
			return { code: "NUMBER_TYPE_MAX", message: `int value should be less than or equal to ${n(issue.maximum)}.` };
		case "too_small":
			if (issue.origin === "string" || issue.origin === "array")
				return { code: "BASE_TYPE_MIN_LENGTH", message: `Must be ${n(issue.minimum)} or more in length.` };
			return { code: "NUMBER_TYPE_MIN", message: `int value should be greater than or equal to ${n(issue.minimum)}.` };
		case "invalid_type":
			if (issue.input === undefined) return { code: "BASE_TYPE_REQUIRED", message: "This field is required" };
			return {
				code: `BASE_TYPE_${String(issue.expected ?? "invalid").toUpperCase()}`,
				message: `Could not interpret ${JSON.stringify(issue.input)} as ${issue.expected ?? "the expected type"}.`,
			};
		case "invalid_format":
			if (issue.format === "url") return { code: "URL_TYPE_INVALID_URL", message: "Not a well formed URL." };
			if (issue.format === "regex") return { code: "NUMBER_TYPE_COERCE", message: "Value is not snowflake." };
			return { code: "BASE_TYPE_INVALID", message: `Invalid ${issue.format ?? "format"}.` };
		case "invalid_value":
			return {
				code: "BASE_TYPE_CHOICES",
				message: `Value must be one of {${(issue.values ?? []).map((v) => JSON.stringify(v)).join(", ")}}.`,
			};
		case "invalid_union":
			return { code: "UNION_TYPE_CHOICES", message: "Value of field does not match any allowed type." };
		default:
			return { code: "BASE_TYPE_INVALID", message: issue.message };
	}
}

/** Builds Discord's nested error tree: `{ embeds: { "0": { title: { _errors: [...] } } } }`. */
export function errorTree(list: readonly FieldError[]): Record<string, unknown> {
	const root: Record<string, unknown> = {};
	for (const e of list) {
		let node = root;
		for (const key of e.path) {
			const k = String(key);
			const next = (node[k] as Record<string, unknown> | undefined) ?? {};
			node[k] = next;
			node = next;
		}
		const arr = (node._errors as unknown[] | undefined) ?? [];
		arr.push({ code: e.code, message: e.message });
		node._errors = arr;
	}
	return root;
}

export function throwIfErrors(list: readonly FieldError[]): void {
	if (list.length === 0) return;
	const seen = new Set<string>();
	const unique = list.filter((e) => {
		const key = `${e.path.join(".")}|${e.code}|${e.message}`;
		if (seen.has(key)) return false;
		seen.add(key);
		return true;
	});
	throw httpErrors.invalidFormBody(errorTree(unique));
}

/** Discord counts its length limits in code points (an emoji is one), not UTF-16 units. */
const chars = (s: unknown): number => (typeof s === "string" ? [...s].length : 0);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Strings with an unpaired surrogate (half an emoji, e.g. from a UTF-16 `slice`) are not valid
 * Unicode: Discord refuses the body (Invalid Form Body; the per-field code here is our naming).
 */
function unicodeErrors(value: unknown, path: Path): FieldError[] {
	if (typeof value === "string") {
		return LONE_SURROGATE.test(value)
			? [{ path, code: "STRING_TYPE_INVALID_UNICODE", message: "Must be valid Unicode." }]
			: [];
	}
	if (Array.isArray(value)) return value.flatMap((item, i) => unicodeErrors(item, [...path, i]));
	if (isObj(value)) return Object.entries(value).flatMap(([key, item]) => unicodeErrors(item, [...path, key]));
	return [];
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export interface MessageRuleOptions {
	/** Whether files were uploaded with the request (for the empty-message rule). */
	hasFiles?: boolean;
	/** Edits may omit everything (partial update). */
	partial?: boolean;
}

/** Discord's message rules beyond the spec. Returns field errors; the empty-message rule is `isEmptyMessage`. */
export function messageRuleErrors(body: Record<string, unknown>, prefix: Path = []): FieldError[] {
	const out: FieldError[] = [];
	const at = (...p: Array<string | number>): Path => [...prefix, ...p];
	const flags = typeof body.flags === "number" ? body.flags : 0;
	const v2 = (flags & (1 << 15)) !== 0;
	out.push(...unicodeErrors(body, prefix));
	if (chars(body.content) > Limits.content) {
		out.push({
			path: at("content"),
			code: "BASE_TYPE_MAX_LENGTH",
			message: `Must be ${Limits.content} or fewer in length.`,
		});
	}
	if (Array.isArray(body.embeds)) {
		let total = 0;
		body.embeds.forEach((embed, i) => {
			if (!isObj(embed)) return;
			const fields = Array.isArray(embed.fields) ? embed.fields : [];
			const footer = isObj(embed.footer) ? embed.footer : {};
			const author = isObj(embed.author) ? embed.author : {};
			const checks: Array<[Path, number, number]> = [
				[at("embeds", i, "title"), chars(embed.title), Limits.embedTitle],
				[at("embeds", i, "description"), chars(embed.description), Limits.embedDescription],
				[at("embeds", i, "footer", "text"), chars(footer.text), Limits.embedFooter],
				[at("embeds", i, "author", "name"), chars(author.name), Limits.embedAuthor],
			];
			for (const [path, len, max] of checks) {
				if (len > max) out.push({ path, code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${max} or fewer in length.` });
			}
			const image = isObj(embed.image) ? embed.image : {};
			const thumbnail = isObj(embed.thumbnail) ? embed.thumbnail : {};
			const urls: Array<[Path, unknown, readonly string[]]> = [
				[at("embeds", i, "url"), embed.url, WEB_SCHEMES],
				[at("embeds", i, "author", "url"), author.url, WEB_SCHEMES],
				[at("embeds", i, "author", "icon_url"), author.icon_url, MEDIA_SCHEMES],
				[at("embeds", i, "footer", "icon_url"), footer.icon_url, MEDIA_SCHEMES],
				[at("embeds", i, "image", "url"), image.url, MEDIA_SCHEMES],
				[at("embeds", i, "thumbnail", "url"), thumbnail.url, MEDIA_SCHEMES],
			];
			for (const [path, value, schemes] of urls) out.push(...urlErrors(path, value, schemes));
			if (fields.length > Limits.embedFields) {
				out.push({
					path: at("embeds", i, "fields"),
					code: "BASE_TYPE_MAX_LENGTH",
					message: `Must be ${Limits.embedFields} or fewer in length.`,
				});
			}
			total += chars(embed.title) + chars(embed.description) + chars(footer.text) + chars(author.name);
			fields.forEach((f, j) => {
				if (!isObj(f)) return;
				total += chars(f.name) + chars(f.value);
				if (typeof f.name !== "string" || f.name.trim() === "")
					out.push({
						path: at("embeds", i, "fields", j, "name"),
						code: "BASE_TYPE_REQUIRED",
						message: "This field is required",
					});
				if (typeof f.value !== "string" || f.value.trim() === "")
					out.push({
						path: at("embeds", i, "fields", j, "value"),
						code: "BASE_TYPE_REQUIRED",
						message: "This field is required",
					});
			});
		});
		if (total > Limits.embedTotal) {
			out.push({
				path: at("embeds"),
				code: "MAX_EMBED_SIZE_EXCEEDED",
				message: `Embed size exceeds maximum size of ${Limits.embedTotal}`,
			});
		}
	}
	if (v2) {
		if (chars(body.content) > 0)
			out.push({
				path: at("content"),
				code: "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
				message: "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
			});
		if (Array.isArray(body.embeds) && body.embeds.length > 0)
			out.push({
				path: at("embeds"),
				code: "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
				message: "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
			});
	}
	if (Array.isArray(body.components)) out.push(...componentErrors(body.components, v2, at("components")));
	if (Array.isArray(body.attachments) && body.attachments.length > Limits.attachments) {
		out.push({
			path: at("attachments"),
			code: "BASE_TYPE_MAX_LENGTH",
			message: `Must be ${Limits.attachments} or fewer in length.`,
		});
	}
	return out;
}

/** The schemes Discord takes: links, images (also `attachment://` of an uploaded file), link buttons. */
const WEB_SCHEMES = ["http", "https"] as const;
const MEDIA_SCHEMES = ["http", "https", "attachment"] as const;
const BUTTON_SCHEMES = ["http", "https", "discord"] as const;

/**
 * Discord's URL rules beyond the spec's format check (which takes `javascript:`, `ftp:`,
 * `https:/host`): a scheme from the field's list, no whitespace or control characters, and for
 * http(s) `//` and a host. Lengths (2048, buttons 512) are the spec's.
 */
function urlErrors(path: Path, value: unknown, schemes: readonly string[]): FieldError[] {
	if (typeof value !== "string") return [];
	const malformed = [{ path, code: "URL_TYPE_INVALID_URL", message: "Not a well formed URL." }];
	const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
	if (!scheme || /[\s\u0000-\u001f\u007f]/.test(value)) return malformed;
	if (!schemes.includes(scheme)) {
		const list = schemes.map((name) => `'${name}'`).join(", ");
		return [
			{
				path,
				code: "URL_TYPE_INVALID_SCHEME",
				message: `Scheme "${scheme}" is not supported. Scheme must be one of (${list}).`,
			},
		];
	}
	if (scheme !== "http" && scheme !== "https") return [];
	try {
		if (/^https?:\/\/[^/?#]/i.test(value) && new URL(value).hostname !== "") return [];
	} catch {
		// not parseable: malformed
	}
	return malformed;
}

function componentErrors(components: unknown[], v2: boolean, prefix: Path): FieldError[] {
	const out: FieldError[] = [];
	const seen = new Map<string, Path>();
	if (!v2 && components.length > Limits.actionRows) {
		out.push({
			path: prefix,
			code: "BASE_TYPE_MAX_LENGTH",
			message: `Must be ${Limits.actionRows} or fewer in length.`,
		});
	}
	const visit = (c: unknown, path: Path, parentIsRow: boolean): void => {
		if (!isObj(c)) return;
		const type = c.type;
		if (typeof c.custom_id === "string") {
			if (seen.has(c.custom_id)) {
				out.push({
					path: [...path, "custom_id"],
					code: "COMPONENT_CUSTOM_ID_DUPLICATED",
					message: "Component custom id cannot be duplicated",
				});
			}
			seen.set(c.custom_id, path);
		}
		if (type === 1) {
			const children = Array.isArray(c.components) ? c.components : [];
			const hasSelect = children.some(
				(k) => isObj(k) && typeof k.type === "number" && [3, 5, 6, 7, 8].includes(k.type),
			);
			if (hasSelect && children.length > 1) {
				out.push({
					path: [...path, "components"],
					code: "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
					message: "The specified component exceeds the maximum width",
				});
			}
			if (children.length > Limits.rowButtons) {
				out.push({
					path: [...path, "components"],
					code: "BASE_TYPE_MAX_LENGTH",
					message: `Must be ${Limits.rowButtons} or fewer in length.`,
				});
			}
			children.forEach((k, i) => {
				visit(k, [...path, "components", i], true);
			});
			return;
		}
		if (type === 2) {
			const style = c.style;
			if (style === 5) {
				if (typeof c.url !== "string")
					out.push({
						path: [...path, "url"],
						code: "BUTTON_COMPONENT_URL_REQUIRED",
						message: "A URL is required for link buttons",
					});
				out.push(...urlErrors([...path, "url"], c.url, BUTTON_SCHEMES));
				if (c.custom_id != null)
					out.push({
						path: [...path, "custom_id"],
						code: "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
						message: "Link buttons cannot have a custom id",
					});
			} else if (style !== 6) {
				if (typeof c.custom_id !== "string")
					out.push({
						path: [...path, "custom_id"],
						code: "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
						message: "A custom id is required",
					});
				if (c.url != null)
					out.push({
						path: [...path, "url"],
						code: "BUTTON_COMPONENT_URL_NOT_ALLOWED",
						message: "Non-link buttons cannot have a URL",
					});
			}
			if (style !== 6 && (typeof c.label !== "string" || c.label === "") && !isObj(c.emoji)) {
				out.push({
					path: [...path, "label"],
					code: "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
					message: "A label or an emoji is required",
				});
			}
			if (!parentIsRow && !v2) {
				out.push({
					path: [...path, "type"],
					code: "COMPONENT_TYPE_INVALID",
					message: "Buttons must be inside an action row",
				});
			}
			return;
		}
		if (!v2 && !parentIsRow) {
			out.push({
				path: [...path, "type"],
				code: "COMPONENT_TYPE_INVALID",
				message: `Component type ${String(type)} needs the IS_COMPONENTS_V2 message flag`,
			});
		}
		for (const key of ["components", "items"]) {
			const kids = c[key];
			if (Array.isArray(kids)) {
				kids.forEach((k, i) => {
					visit(k, [...path, key, i], false);
				});
			}
		}
		if (isObj(c.accessory)) visit(c.accessory, [...path, "accessory"], true);
	};
	components.forEach((c, i) => {
		visit(c, [...prefix, i], false);
	});
	return out;
}

/** True when a new message would have nothing to show (Discord answers 50006). */
export function isEmptyMessage(body: Record<string, unknown>, hasFiles: boolean): boolean {
	const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;
	return (
		chars(body.content) === 0 &&
		!nonEmpty(body.embeds) &&
		!nonEmpty(body.components) &&
		!nonEmpty(body.sticker_ids) &&
		!nonEmpty(body.attachments) &&
		!isObj(body.poll) &&
		!hasFiles
	);
}

/** Modal rules beyond the spec: at most 5 top-level components, one text input per action row, lengths coherent. */
export function modalRuleErrors(data: Record<string, unknown>, prefix: Path): FieldError[] {
	const out: FieldError[] = [];
	const comps = Array.isArray(data.components) ? data.components : [];
	if (comps.length > Limits.modalComponents) {
		out.push({
			path: [...prefix, "components"],
			code: "BASE_TYPE_MAX_LENGTH",
			message: `Must be ${Limits.modalComponents} or fewer in length.`,
		});
	}
	const seen = new Set<string>();
	comps.forEach((row, i) => {
		if (!isObj(row)) return;
		const inputs: Array<[Record<string, unknown>, Path]> = [];
		if (row.type === 1) {
			const kids = Array.isArray(row.components) ? row.components : [];
			if (kids.length !== 1) {
				out.push({
					path: [...prefix, "components", i, "components"],
					code: "BASE_TYPE_BAD_LENGTH",
					message: "Must be between 1 and 1 in length.",
				});
			}
			kids.forEach((k, j) => {
				if (!isObj(k)) return;
				inputs.push([k, [...prefix, "components", i, "components", j]]);
				if (k.type === 4 && (typeof k.label !== "string" || k.label === "")) {
					out.push({
						path: [...prefix, "components", i, "components", j, "label"],
						code: "BASE_TYPE_REQUIRED",
						message: "This field is required",
					});
				}
			});
		} else if (row.type === 18 && isObj(row.component)) {
			inputs.push([row.component, [...prefix, "components", i, "component"]]);
		}
		for (const [input, path] of inputs) {
			if (typeof input.custom_id === "string") {
				if (seen.has(input.custom_id))
					out.push({
						path: [...path, "custom_id"],
						code: "COMPONENT_CUSTOM_ID_DUPLICATED",
						message: "Component custom id cannot be duplicated",
					});
				seen.add(input.custom_id);
			}
			if (
				typeof input.min_length === "number" &&
				typeof input.max_length === "number" &&
				input.min_length > input.max_length
			) {
				out.push({
					path: [...path, "min_length"],
					code: "BASE_TYPE_INVALID",
					message: "min_length must be less than or equal to max_length",
				});
			}
			if (
				typeof input.value === "string" &&
				typeof input.max_length === "number" &&
				chars(input.value) > input.max_length
			) {
				out.push({
					path: [...path, "value"],
					code: "BASE_TYPE_MAX_LENGTH",
					message: `Must be ${input.max_length} or fewer in length.`,
				});
			}
		}
	});
	return out;
}

const NAME_RE = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** Command rules beyond the spec (names, option order, choices vs autocomplete, ...). */
export function commandRuleErrors(cmd: Record<string, unknown>, prefix: Path): FieldError[] {
	const out: FieldError[] = [];
	const type = typeof cmd.type === "number" ? cmd.type : 1;
	if (type === 1) {
		const name = typeof cmd.name === "string" ? cmd.name : "";
		if (!NAME_RE.test(name) || name !== name.toLowerCase()) {
			out.push({
				path: [...prefix, "name"],
				code: "APPLICATION_COMMAND_INVALID_NAME",
				message: "Command name is invalid",
			});
		}
		if (typeof cmd.description !== "string" || cmd.description.length === 0) {
			out.push({ path: [...prefix, "description"], code: "BASE_TYPE_REQUIRED", message: "This field is required" });
		}
		if (Array.isArray(cmd.options)) out.push(...optionErrors(cmd.options, [...prefix, "options"], 0));
	} else if (Array.isArray(cmd.options) && cmd.options.length > 0) {
		out.push({
			path: [...prefix, "options"],
			code: "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED",
			message: "Context menu commands cannot have options",
		});
	}
	return out;
}

function optionErrors(options: unknown[], prefix: Path, level: number): FieldError[] {
	const out: FieldError[] = [];
	if (options.length > Limits.commandOptions) {
		out.push({
			path: prefix,
			code: "BASE_TYPE_MAX_LENGTH",
			message: `Must be ${Limits.commandOptions} or fewer in length.`,
		});
	}
	const names = new Set<string>();
	let sawOptional = false;
	const kinds = new Set<"sub" | "value">();
	options.forEach((o, i) => {
		if (!isObj(o)) return;
		const path = [...prefix, i];
		const name = typeof o.name === "string" ? o.name : "";
		if (!NAME_RE.test(name) || name !== name.toLowerCase()) {
			out.push({
				path: [...path, "name"],
				code: "APPLICATION_COMMAND_INVALID_NAME",
				message: "Command name is invalid",
			});
		}
		if (names.has(name)) {
			out.push({
				path: [...path, "name"],
				code: "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
				message: "Option names must be unique",
			});
		}
		names.add(name);
		const isSub = o.type === 1 || o.type === 2;
		kinds.add(isSub ? "sub" : "value");
		if (isSub) {
			if (o.type === 2 && level > 0) {
				out.push({
					path: [...path, "type"],
					code: "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
					message: "Subcommand groups cannot be nested",
				});
			}
			if (o.type === 1 && level > 1) {
				out.push({
					path: [...path, "type"],
					code: "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
					message: "Subcommands cannot be nested this deep",
				});
			}
			if (Array.isArray(o.options)) out.push(...optionErrors(o.options, [...path, "options"], level + 1));
			return;
		}
		if (o.required === true && sawOptional) {
			out.push({
				path: [...path, "required"],
				code: "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
				message: "Required options must be placed before non-required options",
			});
		}
		if (o.required !== true) sawOptional = true;
		if (o.autocomplete === true && Array.isArray(o.choices) && o.choices.length > 0) {
			out.push({
				path: [...path, "autocomplete"],
				code: "AUTOCOMPLETE_CHOICES_CONFLICT",
				message: "Autocomplete and choices are mutually exclusive",
			});
		}
		if (Array.isArray(o.choices) && o.choices.length > Limits.choices) {
			out.push({
				path: [...path, "choices"],
				code: "BASE_TYPE_MAX_LENGTH",
				message: `Must be ${Limits.choices} or fewer in length.`,
			});
		}
	});
	if (kinds.size > 1) {
		out.push({
			path: prefix,
			code: "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
			message: "Sub-command and sub-command group option types are mutually exclusive to all other types",
		});
	}
	return out;
}
