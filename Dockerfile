# syntax=docker/dockerfile:1
# The carve image: the binary and the shared libraries it links, nothing else,
# run as an unprivileged user. `carve render k8s` runs the gateway from it
# (the default --carve-image names this build); docs/kubernetes.md, "The image".
#
#   docker build -t ghcr.io/carve-project/carve:0.1.0 .
#
# Debian 12.11 (bookworm) slim, pinned by digest: the build is repeatable and
# the image gets Debian's security updates only when this line changes.
ARG BASE=debian:12.11-slim@sha256:2424c1850714a4d94666ec928e24d86de958646737b1d113f5b2207be44d37d8

FROM ${BASE} AS build
# scripts/install-deps's toolchain and libraries; no test tools (CARVE_TESTS=OFF).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev libcli11-dev \
      libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev libglpk-dev \
      libgoogle-perftools-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY catalog catalog
COPY src src
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCARVE_TESTS=OFF \
 && cmake --build /build --target carve \
 && strip /build/carve

FROM ${BASE}
# The runtime halves of the libraries above (ldd build/carve).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libyaml-cpp0.7 libspdlog1.10 libfmt9 libssl3 libglpk40 \
      libtcmalloc-minimal4 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/carve --create-home \
      --shell /usr/sbin/nologin carve
COPY --from=build /build/carve /usr/local/bin/carve
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/carve
EXPOSE 8000
ENTRYPOINT ["carve"]
CMD ["--help"]
