# txclone's services: the producer and the consumer run from this image.
# The build stage compiles src/ to dist/; the image holds dist/, bin/ and the production
# dependencies only, as the npm package does.
FROM node:20-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY --from=build /build/dist ./dist
USER node
# Node lets the heap grow far past what the services keep alive (about 40 MB after a full
# collection, restoring); a cap keeps RSS near the working set at no cost in speed (see
# bench/restore.ts).
ENV NODE_OPTIONS=--max-old-space-size=256
ENTRYPOINT ["node", "bin/txclone.mjs"]
CMD ["replicate", "--role", "both"]
