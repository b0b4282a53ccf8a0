# The container worker. Build from the repository root:
#   docker build -t edge-task-worker .
#   docker run --rm -e DATABASE_URL=postgres://... edge-task-worker
# Your own image does the same with your tasks module:
#   npm install edge-task-worker && npx task-worker run --tasks ./tasks.ts
FROM node:22-slim

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY migrations ./migrations
# No dependency needs an install script at run time; the migrations module is compiled below.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/compile-migrations.mjs

# SIGTERM (docker stop) lets running tasks finish within --grace seconds; keep docker's
# stop timeout (default 10 s, `stop_grace_period` in compose) above it.
STOPSIGNAL SIGTERM
USER node
ENTRYPOINT ["node", "bin/task-worker.js"]
CMD ["run", "--tasks", "examples/tasks.ts", "--concurrency", "4", "--retry", "1", "--migrate", "--grace", "25"]
