# One image for every worker; the compose file picks the worker with `command`.
# Node runs our TypeScript directly (type stripping), so there is no build step, only dependencies.
# Node and pnpm are the versions scripts/toolchain.txt pins for ./run: NODE_VERSION below is that file's
# node version (scripts/toolchain-bump.sh moves both; a test checks they agree), and pnpm is read from it.
# The image is pinned by tag, not digest: add @sha256:... where the registry can be asked for it.
ARG NODE_VERSION=24.22.3
FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY scripts/toolchain.txt /tmp/toolchain.txt
RUN v="$(awk '$1 == "pnpm" { print $4; exit }' /tmp/toolchain.txt)" && [ -n "$v" ] \
  && npm install -g "pnpm@$v" --no-fund --no-audit && [ "$(pnpm -v)" = "$v" ]
COPY pnpm-workspace.yaml pnpm-lock.yaml package.json ./
# pnpm applies our kafkajs patch (pnpm-workspace.yaml, patchedDependencies) at install.
COPY patches ./patches
COPY packages ./packages
COPY services ./services
COPY bench/package.json ./bench/package.json
COPY test/package.json ./test/package.json
RUN pnpm install --frozen-lockfile --prod --filter "./packages/**" --filter "./services/**"

FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production LOG_PRETTY=false HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps --chown=node:node /app ./
USER node
# Overridden per service in docker-compose.yml.
CMD ["node", "services/ingest/src/main.ts"]
