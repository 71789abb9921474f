# The training image: modelship with PyTorch (CPU) and TensorFlow; `docker run IMAGE mnist ...`
# runs `modelship train mnist ...` and writes numbered versions under the mounted output.
#
#   scripts/build-wheelhouse.sh --extras torch,tensorflow && \
#   scripts/build-images.sh --wheelhouse deploy/wheelhouse training
#   docker run --rm -v "$PWD/models:/models" modelship/training mnist --framework torch \
#       --epochs 1 --output /models          # publishes /models/mnist/<version>/
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG PIP_OFFLINE=0
ARG EXTRAS=torch,tensorflow
ENV PIP_OFFLINE=${PIP_OFFLINE} PIP_DEFAULT_TIMEOUT=120 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY deploy/pip-install.sh /usr/local/bin/pip-install
COPY pyproject.toml README.md constraints.txt ./
# Dependencies first (the heavy layer), then the source.
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    mkdir -p src/modelship && touch src/modelship/__init__.py \
    && pip-install ".[${EXTRAS}]" && /opt/venv/bin/pip uninstall -q -y modelship
COPY src ./src
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    pip-install --no-deps . && /opt/venv/bin/pip uninstall -q -y pip

FROM ${BASE_IMAGE}
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/modelship modelship \
    && mkdir -p /models && chown 10001:10001 /models
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib
USER 10001:10001
WORKDIR /home/modelship
VOLUME ["/models"]
ENTRYPOINT ["modelship", "train"]
CMD ["--help"]
