# The gateway image: Node.js 20 with build tools for the native sandbox addon.
FROM node:20-bookworm
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# The web console (console/): the gateway bundles its builder and builds the page when it starts.
COPY console ./console
# The gateway runs from one bundled file (scripts/build.mjs): built here, so a container starts without building.
COPY scripts ./scripts
RUN node scripts/build.mjs
EXPOSE 4000
CMD ["npm", "start"]
