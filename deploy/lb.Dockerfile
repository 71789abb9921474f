# The load balancer in front of the serving replicas: Debian's HAProxy, configured by
# deploy/haproxy/haproxy.cfg (replicas found by DNS, health-checked on the model state).
#
#   DOCKER_BUILDKIT=1 /usr/bin/docker build -f deploy/lb.Dockerfile -t modelship/lb \
#       --build-arg BASE_IMAGE=modelship/base:bookworm .
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY deploy/haproxy/haproxy.cfg /usr/local/etc/haproxy/haproxy.cfg
# Where the replicas are (a DNS name with one A record per replica) and what they serve.
ENV SERVING_HOST=tasks.serving SERVING_PORT=8501 MODEL_NAME=model LB_PORT=8501
USER haproxy
EXPOSE 8501
# No HEALTHCHECK: a dead HAProxy ends the container, and the orchestrator restarts it; a probe
# process competing for CPU on a busy node could only restart a working load balancer.
# -W: master-worker, -db: stay in the foreground and log to stderr, as a container's process should.
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
