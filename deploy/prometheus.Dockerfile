# Prometheus for the serving replicas: Debian's prometheus package, with modelship's scrape
# configurations (replicas found by DNS) and alert rules from deploy/prometheus/.
#
#   DOCKER_BUILDKIT=1 /usr/bin/docker build -f deploy/prometheus.Dockerfile -t modelship/prometheus \
#       --build-arg BASE_IMAGE=modelship/base:bookworm .
#
# The default configuration finds the replicas as Swarm's tasks.serving; Compose passes
# --config.file=/etc/prometheus/modelship/compose.yml (the service name serving).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && mkdir -p /prometheus && chown prometheus:prometheus /prometheus
COPY deploy/prometheus/ /etc/prometheus/modelship/
USER prometheus
EXPOSE 9090
VOLUME ["/prometheus"]
ENTRYPOINT ["/usr/bin/prometheus", "--storage.tsdb.path=/prometheus", "--web.listen-address=:9090"]
CMD ["--config.file=/etc/prometheus/modelship/swarm.yml"]
