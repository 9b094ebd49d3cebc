/** Reading Prometheus' text format as an operator's query would: a series by name and labels. */

export interface Sample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

/** Every sample line of a scrape (comments skipped). */
export function parseMetrics(text: string): Sample[] {
	const samples: Sample[] = [];
	for (const line of text.split("\n")) {
		if (line === "" || line.startsWith("#")) continue;
		const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
		if (!match) throw new Error(`not a sample line: ${line}`);
		const labels: Record<string, string> = {};
		for (const [, name, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
			labels[name as string] = (value as string).replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
		}
		samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
	}
	return samples;
}

/** The value of the one series `name` whose labels include `labels`; undefined when there is none. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
	const found = parseMetrics(text).filter(
		(sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
	);
	if (found.length > 1) throw new Error(`${found.length} series ${name} match ${JSON.stringify(labels)}`);
	return found[0]?.value;
}
