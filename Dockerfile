# Multi-stage build: a static-ish release binary on a small Debian runtime image.
#   docker build -t kacky-backend .
#   docker run -p 5005:5005 -v kacky-data:/data kacky-backend          # demo (no config)
#   docker run -p 5005:5005 -v kacky-data:/data -v $PWD/config:/config \
#     -e CONFIG_FILE=/config/config.yaml -e SECRETS_FILE=/config/secrets.yaml \
#     -e SERVERS_FILE=/config/servers.yaml kacky-backend
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY seed seed
COPY config config
COPY bench bench
RUN cargo build --release --locked && strip target/release/kacky-backend

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data --create-home kacky
COPY --from=build /src/target/release/kacky-backend /usr/local/bin/kacky-backend
USER kacky
WORKDIR /data
# Inside a container the demo must listen on all interfaces to be reachable.
ENV KACKY_BIND_HOSTS=0.0.0.0 KACKY_DATABASE=/data/kacky.db
EXPOSE 5005
ENTRYPOINT ["/usr/local/bin/kacky-backend"]
CMD ["serve"]
