# The serving image on NVIDIA GPUs: onnxruntime-gpu instead of onnxruntime, with the CUDA and
# cuDNN runtime libraries from PyPI wheels (its [cuda,cudnn] extras: nvidia-cuda-runtime,
# nvidia-cudnn-cu13, ...; and cuBLAS, which its CUDA provider links but the extras leave out)
# on the project's Debian base; no CUDA base image, no registry.
#
#   scripts/build-images.sh serving-gpu            (or: make gpu-images)
#   docker run --gpus all -p 8501:8501 -v "$PWD/models/mnist:/models/mnist:ro" \
#       -e MODEL_NAME=mnist modelship/serving-gpu --device cuda
#
# The host needs the NVIDIA driver (R580 or newer for CUDA 13) and the NVIDIA Container Toolkit,
# which mounts the driver's libraries into the container; everything else is in the image.
ARG BASE_IMAGE=modelship/base:bookworm

FROM ${BASE_IMAGE} AS build
ARG PIP_OFFLINE=0
ARG ONNXRUNTIME_GPU_VERSION=1.31.1
ARG CUBLAS_SERIES=13.0
ENV PIP_OFFLINE=${PIP_OFFLINE} PIP_DEFAULT_TIMEOUT=300 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY deploy/pip-install.sh /usr/local/bin/pip-install
COPY pyproject.toml README.md constraints.txt ./
# The CPU onnxruntime that modelship's dependencies bring is swapped for the GPU build: both
# install the same `onnxruntime` module, so only one of them may stay.
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    mkdir -p src/modelship && touch src/modelship/__init__.py \
    && pip-install . && /opt/venv/bin/pip uninstall -q -y modelship onnxruntime \
    && pip-install "onnxruntime-gpu[cuda,cudnn]==${ONNXRUNTIME_GPU_VERSION}" \
       "nvidia-cublas~=${CUBLAS_SERIES}"
COPY src ./src
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    pip-install --no-deps . \
    && /opt/venv/bin/pip uninstall -q -y pip setuptools \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib/python3*/site-packages/modelship
# What serving never imports: onnxruntime's offline model tools and numpy's tests.
RUN cd /opt/venv/lib/python3*/site-packages \
    && rm -rf numpy/*/tests numpy/tests onnxruntime/transformers onnxruntime/tools \
       onnxruntime/quantization numpy/f2py/tests

FROM ${BASE_IMAGE}
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent modelship \
    && mkdir -p /models
COPY --from=build /opt/venv /opt/venv
# NVIDIA_*: what the NVIDIA Container Toolkit exposes (all GPUs; compute and nvidia-smi).
ENV PATH=/opt/venv/bin:${PATH} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MODEL_NAME=model MODEL_BASE_PATH=/models \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 8500 8501
HEALTHCHECK --interval=5s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python3", "-m", "modelship.healthcheck"]
ENTRYPOINT ["sh", "-c", "exec modelship serve --model_name=\"$MODEL_NAME\" --model_base_path=\"$MODEL_BASE_PATH/$MODEL_NAME\" \"$@\"", "modelship-serve"]
CMD ["--rest_api_port=8501", "--port=8500"]
