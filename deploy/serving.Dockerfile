# The serving image: modelship on onnxruntime, no training framework (TF Serving's CLI and ports).
#
#   DOCKER_BUILDKIT=1 /usr/bin/docker build -f deploy/serving.Dockerfile -t modelship/serving \
#       --build-arg BASE_IMAGE=modelship/base:bookworm --secret id=ca,src="$PIP_CERT" .
#
# RUNTIME: onnx (default: onnxruntime only), torch (adds PyTorch's CPU build, for model.pt2,
# TorchScript and process.py-only versions) or tensorflow (adds tensorflow-cpu, for SavedModels);
# `modelship containerize` picks it from the versions' artifacts. TORCH_INDEX_URL is where the
# CPU build of torch comes from (PyPI's default torch wheel is the multi-GB CUDA build).
#
# BASE_IMAGE: any Debian-like image with python3 >= 3.11 and python3-venv (python:3.11-slim, or
# modelship/base:bookworm from scripts/build-base-image.sh). Packages come from the index (with
# the optional CA secret "ca") and/or deploy/wheelhouse/ (PIP_OFFLINE=1: the wheelhouse only).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG PIP_OFFLINE=0
ARG RUNTIME=onnx
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_OFFLINE=${PIP_OFFLINE} PIP_DEFAULT_TIMEOUT=120 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY deploy/pip-install.sh /usr/local/bin/pip-install
COPY deploy/runtime-requirement.sh /usr/local/bin/runtime-requirement
COPY pyproject.toml README.md constraints.txt ./
# Dependencies first, resolved from pyproject.toml with a stub package: editing the source
# reuses this layer. torch==2.13.0 (constraints.txt) matches the index's 2.13.0+cpu.
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    requirement="$(runtime-requirement "$RUNTIME")" \
    && if [ "$RUNTIME" = torch ]; then export PIP_EXTRA_INDEX_URL="$TORCH_INDEX_URL"; fi \
    && mkdir -p src/modelship && touch src/modelship/__init__.py \
    && pip-install "$requirement" && /opt/venv/bin/pip uninstall -q -y modelship
COPY src ./src
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    pip-install --no-deps . \
    && /opt/venv/bin/pip uninstall -q -y pip setuptools \
    && /opt/venv/bin/python -m compileall -q -x 'torch/testing/_internal/' /opt/venv/lib
# (torch's test helpers hold Python 3.12 syntax that 3.11 cannot compile: skipped above.)
# What serving never imports: test suites and onnxruntime's offline model tools (~25 MB).
RUN cd /opt/venv/lib/python3*/site-packages \
    && rm -rf numpy/*/tests numpy/tests onnxruntime/transformers onnxruntime/tools \
       onnxruntime/quantization numpy/f2py/tests

FROM ${BASE_IMAGE}
ARG RUNTIME=onnx
LABEL io.modelship.runtime="${RUNTIME}"
# A fixed numeric user, so that Kubernetes' runAsNonRoot can verify it.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent modelship \
    && mkdir -p /models
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MODEL_NAME=model MODEL_BASE_PATH=/models
USER 10001:10001
EXPOSE 8500 8501
# Healthy only when the model has an AVAILABLE version (the status endpoint answers 200 while
# loading), so Swarm's start-first updates and the load balancer wait for a loaded model.
HEALTHCHECK --interval=5s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python3", "-m", "modelship.healthcheck"]
# As TF Serving's image: the model lives at $MODEL_BASE_PATH/$MODEL_NAME; extra arguments to
# `docker run IMAGE ...` are appended to the serve flags.
ENTRYPOINT ["sh", "-c", "exec modelship serve --model_name=\"$MODEL_NAME\" --model_base_path=\"$MODEL_BASE_PATH/$MODEL_NAME\" \"$@\"", "modelship-serve"]
CMD ["--rest_api_port=8501", "--port=8500"]
