# syntax=docker/dockerfile:1

# Build stage: all dependencies (compiling the native sqlite3), the TypeScript build, then only
# what runs in production is kept.
FROM node:24-slim AS build
WORKDIR /app
RUN apt-get update \
	&& apt-get install -y --no-install-recommends python3 make g++ \
	&& rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
# start:cluster (several shards in one container, `node dist/scripts/start-cluster.js N`).
COPY scripts/start-cluster.ts ./scripts/
COPY scripts/lib/cluster.ts ./scripts/lib/
RUN npm run build && npm prune --omit=dev

# Runtime stage: no compilers, a non-root user, the SQLite file on a volume.
FROM node:24-slim
# /healthz and /metrics on all interfaces of the container (see README, "Docker").
ENV NODE_ENV=production HEALTH_PORT=8080
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 8080
# The slim image has no curl: node asks /healthz (200 once connected to Discord) itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
	CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEALTH_PORT}/healthz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The bot drains on SIGTERM (interactions in flight, the feed cycle, the store): give `docker stop`
# more than its default 10 s, e.g. `docker stop -t 30`.
STOPSIGNAL SIGTERM
# node itself, no npm in between, so the stop signal reaches the bot.
CMD ["node", "--enable-source-maps", "dist/src/index.js"]
