# mcp-admission: the admission webhook and the prober, one image.
#
#   docker build -t ghcr.io/mcp-admission/mcp-admission:0.1.0 .
#
# Runs as a non-root user on a read-only root filesystem: it writes nothing
# but logs to stdout (certificates are read from a mounted Secret).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The `node` devDependency pins the runtime for npm scripts on developer
# machines; the image already is Node 24, so skip its install script.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# V8 heap settings, measured in BENCHMARKS.md ("Memory", npm run bench:memory;
# "Garbage collection and the per-call layers"): a small young generation
# (V8 otherwise grows it to 3 x 16-32 MB and keeps it: +25-55 MB of RSS for
# a webhook whose requests leave little behind), 4 MB a semi-space rather
# than 2 (half the scavenges and their pauses per create for some 3 MB), and
# an old-space cap ~100 MiB under the webhook's memory limit, so V8 collects
# before the kernel kills. The webhook Deployment in deploy/ and
# the chart set the same; keep them in step (test/unit/heap-settings.test.ts).
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=256"
# Two glibc malloc arenas rather than up to 8 per core: memory that Node's
# and V8's threads (GC, compilers, the libuv pool) free stays in the arena
# that allocated it, so each extra arena keeps its own; with 1,000 cluster
# policies serve's steady RSS was 2.6-4.8 MB lower, with one policy 0.9-1.3
# MB, CPU within the noise (BENCHMARKS.md, "serve's steady RSS over the
# blocks floor, by part"). Every command of the image runs with it.
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# 65532: the conventional "nonroot" UID; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
