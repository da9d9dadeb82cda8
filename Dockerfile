# One image for every worker; the compose file picks the worker with `command`.
# Node runs our TypeScript directly (type stripping), so there is no build step, only dependencies.
FROM node:24-slim AS deps
WORKDIR /app
RUN npm install -g pnpm@12 --no-fund --no-audit
COPY pnpm-workspace.yaml pnpm-lock.yaml package.json ./
# pnpm applies our kafkajs patch (pnpm-workspace.yaml, patchedDependencies) at install.
COPY patches ./patches
COPY packages ./packages
COPY services ./services
COPY bench/package.json ./bench/package.json
COPY test/package.json ./test/package.json
RUN pnpm install --frozen-lockfile --prod --filter "./packages/**" --filter "./services/**"

FROM node:24-slim AS runtime
ENV NODE_ENV=production LOG_PRETTY=false HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps --chown=node:node /app ./
USER node
# Overridden per service in docker-compose.yml.
CMD ["node", "services/ingest/src/main.ts"]
