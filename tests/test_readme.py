"""README.md's examples, run for real: every code block is run here or marked not-run.

Each runnable block has a handler below, found by the start of the block's first line. The
handler runs the block's own text (through :class:`Session`, which substitutes ports, example
versions and paths in one visible place) against real ``modelship`` processes, curl and the
Python clients, and checks what the README says comes out. A block with neither a handler nor a
``<!-- not-run: reason -->`` marker fails :func:`test_every_block_is_run_or_marked`.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from PIL import Image

from modelship.data.digits import load_digits_dataset
from modelship.data.idx import write_idx
from modelship.data.mnist import MNIST_FILES
from modelship.data.synthetic import write_synthetic_images
from tests.fixtures.validation_task import Task
from tests.readme.blocks import Block, read_blocks
from tests.readme.session import EXAMPLE_VERSIONS, Session

BLOCKS = read_blocks()
# The first lines of the blocks that other blocks rely on.
TRAIN = "modelship train mnist --framework torch --epochs 5"
SERVE = "modelship serve --model_name mnist --model_base_path models/mnist"
LIFECYCLE_TRAIN = "modelship train mnist --framework torch --output models"
CONFIG = "# models.config"
CONFIG_SERVE = "modelship serve --model_config_file"
IMAGES = "modelship train images"
Handler = Callable[[Block, Session], Any]
HANDLERS: dict[str, Handler] = {}


def handles(first_line: str) -> Callable[[Handler], Handler]:
    """Register a handler for the README block whose first line starts with ``first_line``."""

    def register(handler: Handler) -> Handler:
        HANDLERS[first_line] = handler
        return handler

    return register


def handler_of(block: Block) -> Handler | None:
    found = [h for key, h in HANDLERS.items() if block.first_line.startswith(key)]
    assert len(found) <= 1, f"{block.id}: several handlers"
    return found[0] if found else None


def block(first_line: str) -> Block:
    (found,) = [b for b in BLOCKS if b.first_line.startswith(first_line)]
    return found


def run(session: Session, first_line: str) -> Any:
    """Run the block starting with ``first_line`` (once), for what later blocks rely on."""
    target = block(first_line)
    return session.run_once(target, HANDLERS[first_line])


def serving(session: Session, first_line: str) -> None:
    """Make the server that block's ``modelship serve`` starts the one running."""
    target = block(first_line)
    run(session, first_line)
    if session.server_block != target.line:
        (command,) = [c for c in target.commands() if c.startswith("modelship serve")]
        session.serve(target, command)


def exec_block(b: Block, session: Session, namespace: dict[str, Any]) -> str:
    """Run a Python block in this process; what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(session.substitute(b.text), b.id, "exec"), namespace)
    return printed.getvalue()


def out_json(session: Session, command: str) -> Any:
    return json.loads(session.sh(command).stdout)


# ---------------------------------------------------------------- the walkthrough's scratch space


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, task: Task) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("readme")
    digits = load_digits_dataset()
    x_test = digits.x_test.reshape(len(digits.x_test), -1)
    session = Session(root, x_test)
    session.cwd.mkdir()
    # ~/mnist: the bundled digits in MNIST's IDX format. Its t10k files hold all 1,797 digits so
    # the 5-epoch MLP clears the example's --min-accuracy 0.95, as it does on MNIST (~0.97).
    session.mnist_dir.mkdir()
    as_bytes = {
        "x_train": digits.x_train,
        "y_train": digits.y_train,
        "x_test": np.concatenate([digits.x_train, digits.x_test]),
        "y_test": np.concatenate([digits.y_train, digits.y_test]),
    }
    for role, array in as_bytes.items():
        scaled = np.round(array * 255) if role.startswith("x") else array
        write_idx(session.mnist_dir / MNIST_FILES[role], scaled.astype(np.uint8))
    # The files the README's commands name without showing how they were made.
    (session.cwd / "req.json").write_text(json.dumps({"instances": x_test[:1].tolist()}))
    seven = int(np.flatnonzero(digits.y_test == 7)[0])
    image = (digits.x_test[seven] * 255).astype(np.uint8)
    Image.fromarray(image, mode="L").save(session.cwd / "digit.png")
    np.save(session.cwd / "more.npy", x_test[1:4])
    (session.cwd / "batching.txt").write_text(
        "max_batch_size { value: 32 }\nbatch_timeout_micros { value: 2000 }\n"
    )
    # models/digits, the config file's second model: the validation tests' linear classifiers.
    # Only the versions: other tests promote and validate in that shared repository, and their
    # labels.json or validation.json would change what the config file's policy serves here.
    shutil.copytree(
        task.repo / "digits",
        session.cwd / "models" / "digits",
        ignore=shutil.ignore_patterns("labels.json", "validation.json", ".*"),
    )
    # photos/: one folder per class, JPEG and PNG mixed; photo1.jpg and photo2.png from them.
    classes = write_synthetic_images(session.cwd / "photos", classes=3, per_class=4, size=64)
    shutil.copy(session.cwd / "photos" / classes[0] / "0000.jpg", session.cwd / "photo1.jpg")
    shutil.copy(session.cwd / "photos" / classes[1] / "0001.png", session.cwd / "photo2.png")
    yield session
    session.stop()


# ---------------------------------------------------------------------------------- the tour


@handles(TRAIN)
def train_tour(b: Block, session: Session) -> dict[str, Path]:
    torch_line, tf_line = b.commands()
    # "PyTorch or TensorFlow": the walkthrough goes on with the PyTorch version; the Keras line
    # runs in a directory of its own so both are a user's first version (and, single-threaded
    # both, they train side by side).
    keras = session.root / "keras"
    keras.mkdir()
    keras_run = session.start(tf_line, cwd=keras)
    (version,) = session.new_versions("mnist", lambda: session.sh(torch_line))
    session.versions[EXAMPLE_VERSIONS[0]] = version
    session.finish(keras_run)
    (keras_version,) = (keras / "models" / "mnist").iterdir()
    return {"torch": session.cwd / "models" / "mnist" / version, "tensorflow": keras_version}


@handles("models/mnist/1763779200/")
def version_layout(b: Block, session: Session) -> None:
    paths = run(session, TRAIN)
    files = re.findall(r"^  (\S+\.\w+)\s", b.text, flags=re.MULTILINE)
    assert files == ["model.onnx", "model.pt2", "modelship.json", "training_curve.png"]
    for name in files:
        assert (paths["torch"] / name).is_file(), name
    # "SavedModel files for Keras models"
    assert (paths["tensorflow"] / "saved_model.pb").is_file()
    assert (paths["tensorflow"] / "model.onnx").is_file()
    manifest = json.loads((paths["torch"] / "modelship.json").read_text())
    for key in ("signatures", "labels", "metrics", "parameters", "code_version"):
        assert manifest[key], key
    for key in ("framework_versions", "created_at"):
        assert manifest[key], key
    assert manifest["data"]["fingerprint"]
    assert manifest["data"]["stats"]


@handles(SERVE)
def serve_tour(b: Block, session: Session) -> None:
    run(session, TRAIN)
    (command,) = b.commands()
    session.serve(b, command)


@handles("curl localhost:8501/v1/models/mnist")
def curl_tour(b: Block, session: Session) -> None:
    serving(session, SERVE)
    status, metadata, predict, by_version = b.commands()
    version = session.versions[EXAMPLE_VERSIONS[0]]
    assert out_json(session, status)["model_version_status"] == [
        {
            "version": version,
            "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""},
        }
    ]
    signatures = out_json(session, metadata)["metadata"]["signature_def"]["signature_def"]
    assert list(signatures["serving_default"]["inputs"]) == ["images"]
    (row,) = out_json(session, predict)["predictions"]
    assert len(row) == 10
    assert sum(row) == pytest.approx(1, abs=1e-4)
    (same,) = out_json(session, by_version)["outputs"]
    assert same == pytest.approx(row, abs=1e-5)


@handles("modelship info")
def devices_info(b: Block, session: Session) -> None:
    (command,) = b.commands()
    listed = session.sh(command).stdout
    for framework in ("torch", "tensorflow", "onnxruntime"):
        assert f"{framework} " in listed, listed


@handles("from modelship.client import Client")
def python_client(b: Block, session: Session) -> None:
    serving(session, SERVE)
    namespace: dict[str, Any] = {"batch": session.digits[:4]}  # "batch: (n, 784) floats"
    printed = exec_block(b, session, namespace)
    assert np.asarray(namespace["probabilities"]).shape == (4, 10)
    pairs = re.findall(r"\('(\d)', ([0-9.]+)\)", printed)
    assert len(pairs) == 4, printed
    top = np.asarray(namespace["probabilities"]).argmax(axis=1)
    assert [int(name) for name, _ in pairs] == top.tolist()


def output_pattern(comment: str) -> re.Pattern[str]:
    """A ``# file: predicted class C with confidence X`` comment as a pattern for any C and X."""
    line = comment.removeprefix("# ")
    where, _ = line.split(": predicted class ")
    return re.compile(re.escape(where) + r": predicted class \S+ with confidence [01]\.\d{4}")


@handles("modelship predict --url http://localhost:8501 --model mnist")
def predict_cli(b: Block, session: Session) -> None:
    serving(session, SERVE)
    (command,) = b.commands()
    lines = session.sh(command).stdout.splitlines()
    (comment,) = [line for line in b.text.splitlines() if line.startswith("# ")]
    assert output_pattern(comment).fullmatch(lines[0]), lines
    # more.npy holds three digits: one line each, numbered
    assert [line.split(":")[0] for line in lines[1:]] == [f"more.npy[{i}]" for i in range(3)]


@handles(LIFECYCLE_TRAIN)
def publish_new_version(b: Block, session: Session) -> None:
    serving(session, SERVE)
    train, curl = b.commands()
    (version,) = session.new_versions("mnist", lambda: session.sh(train))
    session.versions[EXAMPLE_VERSIONS[1]] = version
    # The server picks the new version up on its next poll; until then grep finds the old one.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = session.sh(curl).stdout.strip()
        if found == f"x-model-version: {version}":
            return
        assert found == f"x-model-version: {session.versions[EXAMPLE_VERSIONS[0]]}", found
        time.sleep(0.2)
    raise AssertionError(f"version {version} not served after 60 s")


@handles(CONFIG)
def write_config(b: Block, session: Session) -> None:
    run(session, LIFECYCLE_TRAIN)
    name = b.first_line.removeprefix("# ")
    (session.cwd / name).write_text(session.substitute(b.text))


@handles(CONFIG_SERVE)
def serve_config(b: Block, session: Session) -> None:
    run(session, CONFIG)
    serve, curl = b.commands()
    session.serve(b, serve)
    (row,) = out_json(session, curl)["predictions"]
    assert len(row) == 10
    # the labels name the versions the config file says
    for label, version in zip(("stable", "canary"), EXAMPLE_VERSIONS, strict=True):
        status = httpx.get(f"{session.rest_url}/v1/models/mnist/labels/{label}").json()
        (state,) = status["model_version_status"]
        assert (state["version"], state["state"]) == (session.versions[version], "AVAILABLE")
    digits = httpx.get(f"{session.rest_url}/v1/models/digits").json()["model_version_status"]
    assert sorted(s["version"] for s in digits) == ["2", "3"]  # latest { num_versions: 2 }


@handles("modelship promote mnist 1763779200")
def gate_and_promote(b: Block, session: Session) -> None:
    serving(session, CONFIG_SERVE)  # the second validate asks its labels/stable
    baseline, validate_local, validate_url, promote, rollback = b.commands()
    stable, candidate = (session.versions[v] for v in EXAMPLE_VERSIONS)
    labels = session.cwd / "models" / "mnist" / "labels.json"

    assert f"-> {stable}" in session.sh(baseline).stdout
    history = json.loads(labels.read_text())["history"]
    assert [(h["version"], h["forced"]) for h in history] == [(int(stable), True)]
    for command in (validate_local, validate_url):
        validation = session.cwd / "models" / "mnist" / candidate / "validation.json"
        validation.unlink(missing_ok=True)
        assert "report written to" in session.sh(command).stdout
        assert json.loads(validation.read_text())["passed"] is True
    assert f"-> {candidate}" in session.sh(promote).stdout
    assert json.loads(labels.read_text())["labels"] == {"stable": int(candidate)}
    assert f"stable -> {stable}" in session.sh(rollback).stdout
    assert json.loads(labels.read_text())["labels"] == {"stable": int(stable)}


@handles("modelship models list")
def models_list(b: Block, session: Session) -> None:
    run(session, LIFECYCLE_TRAIN)
    models, versions, show = (session.sh(c).stdout for c in b.commands())
    assert "mnist" in models
    assert "digits" in models
    for version in (session.versions[v] for v in EXAMPLE_VERSIONS):
        assert version in versions
    assert session.versions[EXAMPLE_VERSIONS[1]] in show
    assert "sklearn-digits" in show  # where its data came from


@handles("# 2 processes sharing the ports")
def serve_with_options(b: Block, session: Session) -> None:
    run(session, LIFECYCLE_TRAIN)
    (command,) = b.commands()
    session.serve(b, command)
    body = {"instances": session.digits[:2].tolist()}
    answer = httpx.post(f"{session.rest_url}/v1/models/mnist:predict", json=body)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 2
    # gRPC on the other port
    with grpc.insecure_channel(f"127.0.0.1:{session.grpc_port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
    # "SIGTERM stops accepting, finishes what is in flight and exits 0"
    assert session.stop() == 0


@handles("import grpc")
def grpc_client(b: Block, session: Session) -> None:
    pytest.importorskip("tensorflow_serving")
    serving(session, SERVE)
    namespace: dict[str, Any] = {"images": session.digits[:3].astype(np.float32)}
    exec_block(b, session, namespace)
    rest = httpx.post(
        f"{session.rest_url}/v1/models/mnist:predict",
        json={"instances": session.digits[:3].tolist()},
    ).json()["predictions"]
    assert namespace["probabilities"] == pytest.approx(np.asarray(rest), abs=1e-5)


@handles(IMAGES)
def image_classifier(b: Block, session: Session) -> None:
    train, serve, predict = b.commands()
    (version,) = session.new_versions("my_model", lambda: session.sh(train))
    manifest = json.loads(
        (session.cwd / "models" / "my_model" / version / "modelship.json").read_text()
    )
    assert manifest["preprocessing"]["kind"] == "image"
    session.serve(b, serve)
    lines = session.sh(predict).stdout.splitlines()
    (comment,) = [line for line in b.text.splitlines() if line.startswith("# ")]
    assert output_pattern(comment).fullmatch(lines[0]), lines
    assert lines[1].startswith("photo2.png: predicted class ")
    classes = sorted(p.name for p in (session.cwd / "photos").iterdir())
    assert {line.split()[3] for line in lines} <= set(classes)


@handles('curl -d "{\\"instances\\": [{\\"b64\\"')
def image_b64_curl(b: Block, session: Session) -> None:
    serving(session, IMAGES)
    (command,) = b.commands()
    (prediction,) = out_json(session, command)["predictions"]
    comment = b.text.splitlines()[-1].removeprefix("# ")
    shown = json.loads(comment.replace("[...]", "[]").replace(", ...", ""))["predictions"][0]
    assert set(prediction) == set(shown)
    classes = sorted(p.name for p in (session.cwd / "photos").iterdir())
    assert sorted(prediction["classes"]) == classes  # top 3 of 3 classes
    assert prediction["scores"] == sorted(prediction["scores"], reverse=True)
    assert prediction["scores"][0] == pytest.approx(max(prediction["probabilities"]))


# ------------------------------------------------------------------------ serve your own model

OWN_TORCH = "import torch"
OWN_KERAS = "import numpy as np"
OWN_ONNX = "from modelship import publish"
OWN_SAVEDMODEL = "import modelship"


def exec_in_cwd(b: Block, session: Session, namespace: dict[str, Any]) -> str:
    """Run a Python block with the scratch directory as the working directory."""
    with contextlib.chdir(session.cwd):
        return exec_block(b, session, namespace)


def served_answers(version: Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the runtime a server picks for ``version`` answers for ``inputs``."""
    from modelship.runtimes import load_runtime

    runtime = load_runtime(version)
    try:
        (name,) = runtime.signatures
        return runtime.predict(name, inputs)
    finally:
        runtime.close()


@handles(OWN_TORCH)
def own_torch(b: Block, session: Session) -> None:
    import torch

    class MyCNN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 8, 5, stride=2)
            self.head = torch.nn.Linear(8 * 12 * 12, 10)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            features = torch.relu(self.conv(images)).flatten(1)
            return torch.softmax(self.head(features), dim=1)

    namespace: dict[str, Any] = {"MyCNN": MyCNN}
    printed = exec_in_cwd(b, session, namespace)
    result = namespace["result"]
    assert printed.startswith(f"models/my_cnn/{result.version} {{'rtol': 0.0001, 'atol': 1e-05")
    assert set(result.checks) == {"model.pt2", "model.onnx"}
    signature = result.manifest.signatures["predict_images"]
    assert signature.inputs["images"].shape == (-1, 1, 28, 28)
    assert signature.outputs["scores"].shape == (-1, 10)
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        want = namespace["model"](x).numpy()
    got = served_answers(session.cwd / result.path, {"images": x.numpy()})["scores"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@handles(OWN_KERAS)
def own_keras(b: Block, session: Session) -> Any:
    import tensorflow as tf

    from tests.fixtures.own_models import keras_text

    model = keras_text()
    namespace: dict[str, Any] = {"reviews_model": model}
    printed = exec_in_cwd(b, session, namespace)
    result = namespace["result"]
    assert "model.onnx left out" in printed
    assert not (session.cwd / result.path / "model.onnx").exists()
    texts = np.array([["fine"], ["good"], ["nope"]], dtype=object)
    want = np.asarray(model(tf.constant(texts.astype(str)), training=False))
    got = served_answers(session.cwd / result.path, {"text": texts})["sentiment"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    return model


@handles(OWN_ONNX)
def own_onnx(b: Block, session: Session) -> None:
    import onnxruntime as ort

    from tests.fixtures.own_models import onnx_file

    (session.cwd / "exported").mkdir(exist_ok=True)
    source = onnx_file(session.cwd / "exported" / "detector.onnx")
    namespace: dict[str, Any] = {}
    exec_in_cwd(b, session, namespace)
    result = namespace["result"]
    assert result.manifest.labels == ["cat", "dog", "fox", "owl"]
    assert result.checks["model.onnx"].passed
    x = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
    want = ort.InferenceSession(str(source)).run(None, {"x": x})
    got = served_answers(session.cwd / result.path, {"x": x})
    assert got["y"].tolist() == want[0].tolist()
    assert got["argmax"].tolist() == want[1].tolist()


@handles(OWN_SAVEDMODEL)
def own_savedmodel(b: Block, session: Session) -> Any:
    import tensorflow as tf

    from tests.fixtures.own_models import savedmodel

    (session.cwd / "exported").mkdir(exist_ok=True)
    scorer = savedmodel(session.cwd / "exported" / "scorer")
    namespace: dict[str, Any] = {}
    exec_in_cwd(b, session, namespace)
    result = namespace["result"]
    assert set(result.checks) == {"saved_model.pb", "model.onnx"}
    features = np.random.default_rng(1).normal(size=(4, 4)).astype(np.float32)
    want = scorer(tf.constant(features))
    got = served_answers(session.cwd / result.path, {"features": features})  # model.onnx
    np.testing.assert_allclose(got["logits"], want["logits"].numpy(), rtol=1e-4, atol=1e-5)
    assert got["biggest"].tolist() == want["biggest"].numpy().tolist()
    return scorer


@handles("modelship convert exported/scorer")
def own_convert(b: Block, session: Session) -> None:
    run(session, OWN_SAVEDMODEL)
    model = run(session, OWN_KERAS)
    model.save(session.cwd / "reviews.keras")
    scorer, reviews = b.commands()
    (version,) = session.new_versions("scorer", lambda: session.sh(scorer))
    assert (session.cwd / "models" / "scorer" / version / "model.onnx").is_file()
    convert, _, check = reviews.partition(" || ")
    assert check.split("#")[0].strip() == "test $? -eq 3"
    process = session.start(convert)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 3, stderr
    assert "model.onnx left out" in " ".join(stderr.split())
    (version, *_) = sorted((session.cwd / "models" / "reviews").iterdir(), reverse=True)
    assert (version / "saved_model.pb").is_file()
    assert not (version / "model.onnx").exists()


@handles("# process.py, beside")
def own_process(b: Block, session: Session) -> None:
    namespace: dict[str, Any] = {}
    exec_block(b, session, namespace)
    inputs = {"text": np.array([["  Good "], ["BAD"]], dtype=object)}
    assert namespace["preprocess"](inputs)["text"].tolist() == [["good"], ["bad"]]
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]], dtype=np.float32)
    out = namespace["postprocess"]({"sentiment": scores})
    assert out["label"].tolist() == [1, 0]
    assert set(namespace["SIGNATURE"]["outputs"]) == set(out)


# ------------------------------------------------------------------------------------ the tests


def test_every_block_is_run_or_marked() -> None:
    problems = []
    for b in BLOCKS:
        handler = handler_of(b)
        if b.not_run is None and handler is None:
            problems.append(
                f"{b.id} ({b.first_line!r}): no handler in tests/test_readme.py "
                "and no <!-- not-run: reason --> marker"
            )
        if b.not_run is not None and handler is not None:
            problems.append(f"{b.id}: marked not-run but has a handler")
        if b.not_run is not None and not b.not_run.strip():
            problems.append(f"{b.id}: a not-run marker needs its reason")
    for key in HANDLERS:
        if not any(b.first_line.startswith(key) for b in BLOCKS):
            problems.append(f"handler for {key!r} matches no README block")
    assert not problems, "\n".join(problems)


RUN = [b for b in BLOCKS if b.not_run is None and handler_of(b) is not None]


@pytest.mark.parametrize("readme_block", RUN, ids=[f"{b.line}-{b.first_line[:40]}" for b in RUN])
def test_readme_block(readme_block: Block, session: Session) -> None:
    handler = handler_of(readme_block)
    assert handler is not None
    try:
        session.run_once(readme_block, handler)
    except BaseException:
        print("\n".join(session.log))
        raise
