# txclone's services: the producer and the consumer run from this image.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
USER node
ENTRYPOINT ["node", "bin/txclone.mjs"]
CMD ["replicate", "--role", "both"]
