/**
 * The layering of the code, checked by `npm run lint` (see docs/ARCHITECTURE.md, "Layers"):
 *
 *   src/index.ts (composition root)
 *   commands/                      slash commands, buttons, modals
 *   src/bot/                       the interaction layer
 *   src/feeds/  src/transfer/      the feed scheduler; Discord CDN → imgpile transfers
 *   src/discord/ src/imgpile/ src/store/ src/i18n/ src/media/
 *   src/logger.ts  src/config.ts  src/metrics.ts
 *
 * src/proxy.ts and src/proxy/ are the REST proxy, a process of their own (docker-compose.yml):
 * they use the logger, the config and the bot's request pacing, and nothing uses them.
 *
 * A module imports only from its own layer's folder or from layers below it; folders of one
 * layer do not import each other (src/discord may read src/i18n and imgpile's types).
 */
const FOLDER = {
	commands: "^commands/",
	bot: "^src/bot/",
	feeds: "^src/feeds/",
	transfer: "^src/transfer/",
	discord: "^src/discord/",
	imgpile: "^src/imgpile/",
	store: "^src/store/",
	i18n: "^src/i18n/",
	media: "^src/media/",
};
const ROOT = "^src/(index|proxy)\\.ts$";
const BASE = "^src/(logger|config|metrics)\\.ts$";
const any = (...names) => names.map((name) => FOLDER[name]).join("|");

/** `from` may not import any of `names`. */
function forbid(name, from, names, comment) {
	return { name, comment, severity: "error", from: { path: from }, to: { path: any(...names) } };
}

module.exports = {
	forbidden: [
		{
			name: "no-circular",
			comment: "No import cycles: a change to one module must not ripple back to itself.",
			severity: "error",
			from: {},
			to: { circular: true },
		},
		{
			name: "root-is-imported-by-none",
			comment: "src/index.ts composes the process; nothing depends on it.",
			severity: "error",
			from: {},
			to: { path: ROOT },
		},
		{
			name: "proxy-stands-apart",
			comment: "The REST proxy needs the logger, the config and the bot's pacing only.",
			severity: "error",
			from: { path: "^src/proxy/" },
			to: { path: "^(src/|commands/)", pathNot: "^src/proxy/|^src/bot/pacing\\.ts$|^src/(logger|config)\\.ts$" },
		},
		forbid("bot-not-upward", FOLDER.bot, ["commands"], "src/bot serves commands/, never imports it."),
		forbid(
			"feeds-not-upward",
			FOLDER.feeds,
			["commands", "bot", "transfer"],
			"The feed scheduler works without the interaction layer (and apart from transfers).",
		),
		forbid(
			"transfer-not-upward",
			FOLDER.transfer,
			["commands", "bot", "feeds"],
			"Transfers work without the interaction layer (and apart from the feeds).",
		),
		{
			name: "presentation-only-i18n-and-imgpile-types",
			comment: "src/discord turns imgpile things into Discord messages: it reads i18n and imgpile's types only.",
			severity: "error",
			from: { path: FOLDER.discord },
			to: { path: `^(src/|commands/)`, pathNot: `${FOLDER.discord}|${FOLDER.i18n}|${FOLDER.imgpile}` },
		},
		{
			name: "presentation-imgpile-types-only",
			comment: "src/discord uses imgpile's wire types, not its client.",
			severity: "error",
			from: { path: FOLDER.discord },
			to: { path: FOLDER.imgpile, dependencyTypesNot: ["type-only"] },
		},
		...["imgpile", "store", "i18n", "media"].map((name) =>
			forbid(
				`${name}-is-a-base`,
				FOLDER[name],
				Object.keys(FOLDER).filter((other) => other !== name),
				`src/${name} stands alone: it imports no other folder of the code (src/logger.ts, src/config.ts and src/metrics.ts only).`,
			),
		),
		{
			name: "base-modules-import-no-folder",
			comment: "src/logger.ts, src/config.ts and src/metrics.ts are below every folder.",
			severity: "error",
			from: { path: BASE },
			to: { path: "^(src/[^/]+/|commands/)" },
		},
	],
	options: {
		doNotFollow: { path: "node_modules" },
		exclude: { path: "node_modules" },
		// `import type` counts: a type import upward ties the layers together just the same.
		tsPreCompilationDeps: true,
		// Resolves the `.js` specifiers of TypeScript's NodeNext imports to their `.ts` files.
		tsConfig: { fileName: "tsconfig.json" },
		enhancedResolveOptions: { extensions: [".ts", ".js"] },
	},
};
