# The serving image on CUDA: onnxruntime-gpu instead of onnxruntime.
# NOT VERIFIED: no registry (for the CUDA base) and no GPU where modelship is built and tested.
#
#   DOCKER_BUILDKIT=1 docker build -f deploy/serving-gpu.Dockerfile -t modelship/serving-gpu \
#       --secret id=ca,src="$PIP_CERT" .
#   docker run --gpus all -p 8501:8501 -v "$PWD/models/mnist:/models/mnist:ro" \
#       -e MODEL_NAME=mnist modelship/serving-gpu
ARG BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${BASE_IMAGE} AS build
ARG PIP_OFFLINE=0
ARG ONNXRUNTIME_GPU_VERSION=1.31.1
ENV PIP_OFFLINE=${PIP_OFFLINE} PIP_DEFAULT_TIMEOUT=120 PYTHONDONTWRITEBYTECODE=1
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
    && pip-install . && /opt/venv/bin/pip uninstall -q -y modelship onnxruntime \
    && pip-install "onnxruntime-gpu==${ONNXRUNTIME_GPU_VERSION}"
COPY src ./src
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    pip-install --no-deps . && /opt/venv/bin/pip uninstall -q -y pip

FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent modelship \
    && mkdir -p /models
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MODEL_NAME=model MODEL_BASE_PATH=/models NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 8500 8501
HEALTHCHECK --interval=5s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python3", "-m", "modelship.healthcheck"]
ENTRYPOINT ["sh", "-c", "exec modelship serve --model_name=\"$MODEL_NAME\" --model_base_path=\"$MODEL_BASE_PATH/$MODEL_NAME\" \"$@\"", "modelship-serve"]
CMD ["--rest_api_port=8501", "--port=8500"]
