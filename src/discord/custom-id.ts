/**
 * custom_id convention: `name:arg1:arg2`. The router maps `name` to a handler; the arguments carry
 * all the state a button or modal needs, so old messages keep working after a restart.
 */

const CUSTOM_ID_MAX = 100;

export interface ParsedCustomId {
	name: string;
	args: string[];
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** Builds a custom_id; arguments may not contain ":" and the whole must fit Discord's 100 characters. */
export function customId(name: string, ...args: (string | number)[]): string {
	if (!NAME.test(name)) throw new RangeError(`custom_id name must match ${NAME}: ${name}`);
	const parts = args.map((arg) => {
		const text = String(arg);
		if (text.includes(":")) throw new RangeError(`custom_id argument may not contain ':': ${text}`);
		return text;
	});
	const id = [name, ...parts].join(":");
	if (id.length > CUSTOM_ID_MAX) throw new RangeError(`custom_id is longer than ${CUSTOM_ID_MAX} characters: ${id}`);
	return id;
}

export function parseCustomId(id: string): ParsedCustomId | undefined {
	const [name, ...args] = id.split(":");
	if (!name || !NAME.test(name)) return undefined;
	return { name, args };
}
