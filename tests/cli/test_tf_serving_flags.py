"""TF Serving's command line given to ``modelship serve``: accepted, ignored with a warning, or
refused with the reason; and a tensorflow/serving docker command line serving for real."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import typer
from typer.core import TyperGroup

from modelship.cli import _register, app, tf_serving_booleans
from modelship.cli.serve_cmd import settings_from_flags
from modelship.cli.tf_serving_flags import IGNORED, REFUSED, read_compat_flags
from modelship.errors import BadConfig
from modelship.settings import ServeSettings
from tests.conftest import BIN, ToyModel, free_port
from tests.fixtures.toy_models import reference_softmax_linear

_register()
COMMAND = typer.main.get_command(app)
assert isinstance(COMMAND, TyperGroup)
SERVE = COMMAND.commands["serve"]

# Every flag of tensorflow_model_server (model_servers/main.cc).
_FLAGS_TEXT = """
port grpc_socket_path rest_api_port rest_api_num_threads rest_api_timeout_in_ms
rest_api_enable_cors_support enable_batching allow_version_labels_for_unavailable_models
batching_parameters_file enable_per_model_batching_parameters model_config_file
model_config_file_poll_wait_seconds model_name model_base_path num_load_threads
num_unload_threads max_num_load_retries load_retry_interval_micros
file_system_poll_wait_seconds flush_filesystem_caches tensorflow_session_parallelism
tensorflow_session_config_file tensorflow_intra_op_parallelism tensorflow_inter_op_parallelism
use_alts_credentials ssl_config_file platform_config_file per_process_gpu_memory_fraction
saved_model_tags grpc_channel_arguments grpc_max_threads enable_model_warmup
num_request_iterations_for_warmup version monitoring_config_file
remove_unused_fields_from_bundle_metagraph prefer_tflite_model num_tflite_pools
num_tflite_interpreters_per_pool enable_signature_method_name_check
xla_cpu_compilation_enabled xla_gpu_compilation_enabled enable_profiler
thread_pool_factory_config_file mixed_precision skip_initialize_tpu
enable_grpc_healthcheck_service enable_serialization_as_tensor_content
"""
TF_SERVING_FLAGS = _FLAGS_TEXT.split()


def _parse(argv: list[str]) -> tuple[ServeSettings, list[str]]:
    """Settings and warnings of ``modelship serve ARGV``, parsed as main() parses them."""
    args = tf_serving_booleans(COMMAND, ["serve", *argv])
    context = SERVE.make_context("serve", args[1:])
    flags = {k: v for k, v in context.params.items() if k != "version"}
    return settings_from_flags(flags), read_compat_flags(context.args)


def test_every_tf_serving_flag_is_implemented_ignored_or_refused() -> None:
    implemented = {opt.lstrip("-") for param in SERVE.params for opt in getattr(param, "opts", ())}
    unknown = [f for f in TF_SERVING_FLAGS if f not in implemented | set(IGNORED) | set(REFUSED)]
    assert not unknown
    # A flag is in one list only.
    assert not (implemented & set(IGNORED)), implemented & set(IGNORED)
    assert not (implemented & set(REFUSED))


def test_an_ignored_flag_is_named_in_one_warning_with_its_reason() -> None:
    _, warnings = _parse(["--num_tflite_pools=4", "--platform_config_file", "/etc/platform"])
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "--num_tflite_pools is accepted for TF Serving compatibility and ignored: "
    )
    assert "model.tflite" in warnings[0]
    assert warnings[1].startswith("--platform_config_file is accepted")


@pytest.mark.parametrize(
    "argv",
    [
        ["--enable_model_warmup=true"],
        ["--enable_model_warmup=false"],
        ["--prefer_tflite_model=false"],
        ["--ssl_config_file=", "--monitoring_config_file="],
        ["--use_alts_credentials=false"],
        ["--max_num_load_retries=0"],
    ],
)
def test_a_value_modelship_already_honours_says_nothing(argv: list[str]) -> None:
    assert _parse(argv)[1] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--prefer_tflite_model"],
        ["--max_num_load_retries=5"],
    ],
)
def test_a_value_modelship_does_not_honour_is_warned_about(argv: list[str]) -> None:
    (warning,) = _parse(argv)[1]
    assert "ignored" in warning


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--use_alts_credentials=true"], "ALTS"),
        (["--use_alts_credentials"], "ALTS"),
        (["--no_such_flag=1"], "no such option: --no_such_flag"),
        (["--enable_profiler=maybe"], "takes true or false"),
        (["--num_tflite_pools"], "needs a value"),
        (["stray"], "unexpected argument"),
    ],
)
def test_refused_and_unknown_flags_stop_with_the_reason(argv: list[str], said: str) -> None:
    with pytest.raises(BadConfig, match=said):
        _parse(argv)


def test_session_parallelism_sets_both_pools_unless_one_is_set() -> None:
    settings, _ = _parse(["--tensorflow_session_parallelism=3"])
    assert (settings.intra_op_threads, settings.inter_op_threads) == (3, 3)
    settings, _ = _parse(["--tensorflow_session_parallelism=3", "--intra_op_threads=2"])
    assert (settings.intra_op_threads, settings.inter_op_threads) == (2, 0)
    settings, _ = _parse(["--tensorflow_inter_op_parallelism=4"])
    assert (settings.intra_op_threads, settings.inter_op_threads) == (0, 4)
    with pytest.raises(ValueError, match="not all three"):
        _parse(
            [
                "--tensorflow_session_parallelism=3",
                "--tensorflow_intra_op_parallelism=1",
                "--tensorflow_inter_op_parallelism=1",
            ]
        )


@pytest.mark.parametrize(
    ("argv", "enabled"),
    [
        ([], True),
        (["--enable_model_warmup"], True),
        (["--enable_model_warmup", "1"], True),
        (["--enable_model_warmup=false"], False),
        (["--enable-model-warmup", "false"], False),
    ],
)
def test_enable_model_warmup_is_read_as_tf_serving_writes_it(
    argv: list[str], enabled: bool
) -> None:
    assert _parse(argv)[0].enable_model_warmup is enabled


def test_warmup_iterations_default_to_one_and_refuse_a_negative_count() -> None:
    assert _parse([])[0].num_request_iterations_for_warmup == 1
    assert (
        _parse(["--num_request_iterations_for_warmup=3"])[0].num_request_iterations_for_warmup == 3
    )
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        _parse(["--num_request_iterations_for_warmup=-1"])


def test_saved_model_tags_are_split_on_commas() -> None:
    assert _parse([])[0].meta_graph_tags() == ("serve",)
    assert _parse(["--saved_model_tags=serve, tpu"])[0].meta_graph_tags() == ("serve", "tpu")


def _serve(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "modelship"), "serve", *args], stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def test_a_refused_flag_stops_the_server_before_it_loads_anything(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    argv = ["--model_name=toy", f"--model_base_path={toy_model.base_path}"]
    done = subprocess.run(
        [str(BIN / "modelship"), "serve", *argv, "--use_alts_credentials=true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    said = " ".join(done.stderr.split())
    assert "--use_alts_credentials is not supported" in said
    assert "--ssl_config_file for TLS instead" in said


def test_serve_version_prints_it_and_exits() -> None:
    done = subprocess.run(
        [str(BIN / "modelship"), "serve", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.startswith("modelship ")


def test_a_tensorflow_serving_docker_command_line_serves(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    """What the tensorflow/serving image runs, with the flags people add to it."""
    rest, grpc_port = free_port(), free_port()
    log = tmp_path / "server.log"
    process = _serve(
        [
            f"--port={grpc_port}",
            f"--rest_api_port={rest}",
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            "--rest_api_timeout_in_ms=30000",
            "--rest_api_num_threads=16",
            "--enable_model_warmup=true",
            "--tensorflow_session_parallelism=0",
            "--tensorflow_intra_op_parallelism=1",
            "--tensorflow_inter_op_parallelism=1",
            "--file_system_poll_wait_seconds=1",
            "--enable_batching=false",
            "--flush_filesystem_caches=true",
            "--num_load_threads=2",
            "--max_num_load_retries=5",
            "--enable_grpc_healthcheck_service=true",
            "--saved_model_tags=serve",
            "--xla_cpu_compilation_enabled=false",
            "--per_process_gpu_memory_fraction=0.5",
            # modelship's own knob, so the test runs one worker on a 2-core machine
            "--workers=1",
        ],
        log,
    )
    try:
        url = f"http://127.0.0.1:{rest}"
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.post(
                    f"{url}/v1/models/toy:predict", json={"instances": [[0.5] * 784]}, timeout=5
                )
                if answer.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert process.poll() is None, log.read_text()
        assert answer is not None, log.read_text()
        assert answer.status_code == 200, log.read_text()
        expected = reference_softmax_linear(
            np.full((1, 784), 0.5, dtype=np.float32), toy_model.weight, toy_model.bias
        )
        np.testing.assert_allclose(answer.json()["predictions"], expected, rtol=1e-4, atol=1e-7)
        output = log.read_text()
        # Ignored flags are named once each; what modelship already does is not.
        for flag in ("rest_api_num_threads", "flush_filesystem_caches", "num_load_threads"):
            assert output.count(f"--{flag} is accepted for TF Serving compatibility") == 1
        assert "--per_process_gpu_memory_fraction is accepted" in output
        for quiet in ("enable_model_warmup", "xla_cpu_compilation_enabled", "saved_model_tags"):
            assert f"--{quiet} is accepted" not in output
    finally:
        process.terminate()
        process.wait(timeout=30)
