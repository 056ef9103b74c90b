# Example image for one Switchboard node (see docs/operations.md and docker-compose.yml).
# Documentation only: the project's tests never use Docker, and this image has not been built here.

FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 installs a prebuilt binary; these let it compile from source when none matches.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web client (Vite) is built into dist/web by the same build.
COPY web ./web
# `npm ci` also runs the `prepare` script (a build); the explicit build keeps the step visible.
RUN npm ci --no-audit --no-fund
RUN npm run build
RUN npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# DATA_DIR (SQLite file, generated JWT secret) defaults to ./data; a cluster uses PostgreSQL and
# JWT_SECRET, so nothing is written there, but the directory is writable for a single-node run.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
CMD ["node", "dist/cli/main.js", "serve"]
