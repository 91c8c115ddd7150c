# The Vigil services (ingest, collector, store, rules, delivery, api) supervised by `vigil up`, pointed at the
# dependencies by KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL and REDIS_URL (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages ./packages
COPY services ./services
COPY infra ./infra
RUN npm ci --omit=dev --ignore-scripts=false
ENV NODE_ENV=production
CMD ["node", "packages/cli/bin/vigil.mjs", "up"]
