# The training image on CUDA: PyTorch's CUDA build (TensorFlow: add the `tensorflow[and-cuda]`
# package yourself). NOT VERIFIED: no registry (for the CUDA base) and no GPU where modelship
# is built and tested.
#
#   DOCKER_BUILDKIT=1 docker build -f deploy/training-gpu.Dockerfile -t modelship/training-gpu \
#       --secret id=ca,src="$PIP_CERT" .
#   docker run --gpus all --rm -v "$PWD/models:/models" modelship/training-gpu mnist --output /models
ARG BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${BASE_IMAGE} AS build
ARG PIP_OFFLINE=0
# PyTorch publishes its CUDA builds on its own index, one per CUDA release.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
ENV PIP_OFFLINE=${PIP_OFFLINE} PIP_DEFAULT_TIMEOUT=300 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       python3 python3-venv ca-certificates >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv
WORKDIR /src
COPY deploy/pip-install.sh /usr/local/bin/pip-install
COPY pyproject.toml README.md constraints.txt ./
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    mkdir -p src/modelship && touch src/modelship/__init__.py \
    && pip-install --extra-index-url "${TORCH_INDEX_URL}" ".[torch]" \
    && /opt/venv/bin/pip uninstall -q -y modelship
COPY src ./src
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    pip-install --no-deps . && /opt/venv/bin/pip uninstall -q -y pip

FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/modelship modelship \
    && mkdir -p /models && chown 10001:10001 /models
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/matplotlib \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
WORKDIR /home/modelship
VOLUME ["/models"]
ENTRYPOINT ["modelship", "train"]
CMD ["--help"]
