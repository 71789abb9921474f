# The training image on NVIDIA GPUs: PyTorch's CUDA build from PyPI, whose own dependencies are
# the CUDA runtime libraries as wheels (nvidia-cublas, nvidia-cudnn-cu13, nvidia-nccl-cu13...),
# on the project's Debian base; no CUDA base image, no registry.
#
#   scripts/build-images.sh training-gpu           (or: make gpu-images)
#   docker run --gpus all --rm -v "$PWD/models:/models" modelship/training-gpu \
#       images --epochs 8 --device cuda --amp bf16 --output /models
#
# The host needs the NVIDIA driver (R580 or newer for CUDA 13) and the NVIDIA Container Toolkit.
ARG BASE_IMAGE=modelship/base:bookworm

FROM ${BASE_IMAGE} AS build
ARG PIP_OFFLINE=0
ARG TORCH_VERSION=2.13.0
ENV PIP_OFFLINE=${PIP_OFFLINE} PIP_DEFAULT_TIMEOUT=300 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY deploy/pip-install.sh /usr/local/bin/pip-install
COPY pyproject.toml README.md constraints.txt ./
# 1. modelship's dependencies and the torch extra's, except torch itself.
# 2. torch (PyPI's Linux wheel is the CUDA build), then the requirements its metadata lists,
#    with NCCL's exact pin relaxed to its series: the index may not carry that one build, and
#    NCCL keeps its ABI within a major version (libnccl.so.2).
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    mkdir -p src/modelship && touch src/modelship/__init__.py \
    && pip-install . "onnx>=1.16" "onnxscript>=0.1" "scikit-learn>=1.4" "matplotlib>=3.8" \
    && /opt/venv/bin/pip uninstall -q -y modelship \
    && pip-install --no-deps "torch==${TORCH_VERSION}" \
    && /opt/venv/bin/python -c "from importlib.metadata import requires; print('\n'.join(r for r in requires('torch') if 'extra ==' not in r))" \
       | sed -E 's/^(nvidia-nccl-cu[0-9]+)==.*/\1/' > /tmp/torch-requirements.txt \
    && pip-install -r /tmp/torch-requirements.txt
COPY src ./src
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    pip-install --no-deps . && /opt/venv/bin/pip uninstall -q -y pip

FROM ${BASE_IMAGE}
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/modelship modelship \
    && mkdir -p /models && chown 10001:10001 /models
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
WORKDIR /home/modelship
VOLUME ["/models"]
ENTRYPOINT ["modelship", "train"]
CMD ["--help"]
