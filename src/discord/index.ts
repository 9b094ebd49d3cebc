export * from "./buttons.js";
export * from "./custom-id.js";
export * from "./gallery.js";
export * from "./links.js";
export * from "./moderation.js";
export * from "./text.js";
