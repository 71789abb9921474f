# JupyterLab with modelship (PyTorch CPU for training) and the project's notebooks.
# Token authentication is always on: the token is $JUPYTER_TOKEN, or a random one printed in
# the log when that is unset or empty.
#
#   scripts/build-images.sh --wheelhouse deploy/wheelhouse jupyter   # after build-wheelhouse.sh --extras torch,jupyter
#   JUPYTER_TOKEN=... docker-compose -f deploy/compose.yaml up jupyter
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG PIP_OFFLINE=0
ARG EXTRAS=torch,jupyter
ENV PIP_OFFLINE=${PIP_OFFLINE} PIP_DEFAULT_TIMEOUT=120 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY deploy/pip-install.sh /usr/local/bin/pip-install
COPY pyproject.toml README.md constraints.txt ./
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    mkdir -p src/modelship && touch src/modelship/__init__.py \
    && pip-install ".[${EXTRAS}]" && /opt/venv/bin/pip uninstall -q -y modelship
COPY src ./src
RUN --mount=type=secret,id=ca --mount=type=bind,source=deploy/wheelhouse,target=/wheelhouse \
    --mount=type=cache,target=/root/.cache/pip \
    pip-install --no-deps .

FROM ${BASE_IMAGE}
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/modelship --shell /bin/bash modelship \
    && mkdir -p /workspace/models && chown -R 10001:10001 /workspace
COPY --from=build /opt/venv /opt/venv
# The notebooks are jupytext .py files: a click opens them as notebooks, not in the text editor;
# no news or update checks from a container that may be offline.
COPY deploy/jupyter/overrides.json /opt/venv/share/jupyter/lab/settings/overrides.json
COPY --chown=10001:10001 notebooks/ /workspace/notebooks/
ENV PATH=/opt/venv/bin:${PATH} PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/matplotlib
USER 10001:10001
WORKDIR /workspace
EXPOSE 8888
# An empty JUPYTER_TOKEN would switch authentication off: unset it so Jupyter draws a random one.
CMD ["sh", "-c", "[ -n \"${JUPYTER_TOKEN:-}\" ] || unset JUPYTER_TOKEN; exec jupyter lab --ip=0.0.0.0 --port=8888 --no-browser --ServerApp.root_dir=/workspace"]
