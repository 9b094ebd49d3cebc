/** Types for the zod-mini schemas of Discord's OpenAPI spec (the package ships them as plain JS). */
declare module "discord-api-spec/zod" {
	import type { ZodMiniType } from "zod/mini";

	export const ApplicationCommandCreateRequestSchema: ZodMiniType;
	export const ApplicationCommandUpdateRequestSchema: ZodMiniType;
	export const ApplicationCommandPatchRequestPartialSchema: ZodMiniType;
	export const PongInteractionCallbackRequestSchema: ZodMiniType;
	export const CreateMessageInteractionCallbackRequestSchema: ZodMiniType;
	export const UpdateMessageInteractionCallbackRequestSchema: ZodMiniType;
	export const ApplicationCommandAutocompleteCallbackRequestSchema: ZodMiniType;
	export const ModalInteractionCallbackRequestSchema: ZodMiniType;
	export const LaunchActivityInteractionCallbackRequestSchema: ZodMiniType;
	export const IncomingWebhookRequestPartialSchema: ZodMiniType;
	export const IncomingWebhookUpdateRequestPartialSchema: ZodMiniType;
	export const MessageCreateRequestSchema: ZodMiniType;
	export const MessageEditRequestPartialSchema: ZodMiniType;
	export const CreatePrivateChannelRequestSchema: ZodMiniType;
	export const CreateForumThreadRequestSchema: ZodMiniType;
	export const UpdateThreadRequestPartialSchema: ZodMiniType;
	export const CreateTextThreadWithMessageRequestSchema: ZodMiniType;
}
