"""The command line: golden outputs for the user-facing text, and every way to get it wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netcost import errors as netcost_errors
from netcost.api import analyze
from netcost.cli import main, run

GOLDEN = Path(__file__).parent / "golden"


def netcost(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netcost.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("argv", "golden"),
    [
        ([], "simple_cnn.txt"),
        (["examples:nin", "--depth", "1", "--format", "markdown"], "nin_depth1.md"),
        (["examples:get_cnn_model", "--format", "csv"], "get_cnn_model.csv"),
        (["examples:simple_cnn", "--train", "--optimizer", "momentum"], "simple_cnn_train.txt"),
        (["examples:nin", "--memory"], "nin_memory.txt"),
        (["torchvision:resnet18", "--stages"], "resnet18_stages.txt"),
        (["examples:simple_cnn", "--style", "keras"], "simple_cnn_keras.txt"),
        (["examples:nin"], "nin.txt"),
        (["torchvision:resnet18", "--depth", "2"], "resnet18_depth2.txt"),
    ],
)
def test_golden_outputs(argv, golden, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    assert run(argv) == (GOLDEN / golden).read_text()


def test_fastai_style_is_the_summary_in_the_seed_thread():
    """tests/golden/fastai_resnet18_seed002.txt is fastai's own learn.summary() of a resnet18
    learner on 64x3x28x28, copied from ../shared/seeds/002 (the text, trailing spaces and all)."""
    text = run(["examples:fastai_resnet18", "--input", "64x3x28x28", "--style", "fastai"])
    assert text == (GOLDEN / "fastai_resnet18_seed002.txt").read_text()


def test_table_numbers_are_the_arithmetic():
    """simple_cnn's first conv at 64x1x28x28, by hand."""
    text = run([])
    macs = 64 * 4 * 14 * 14 * 1 * 3 * 3
    flops = 2 * macs + 64 * 4 * 14 * 14  # + one bias add per output
    read = (64 * 1 * 28 * 28 + 4 * 1 * 3 * 3 + 4) * 4  # input, weight, bias in float32
    written = 64 * 4 * 14 * 14 * 4
    row = next(line for line in text.splitlines() if "0.0 " in line)
    assert f"{macs:,}" in row and f"{flops:,}" in row
    assert f"{(read + written) / 1024:.2f} KiB" in row
    assert "Params: 6,722 " in text  # 40 + 296 + 1,168 + 4,640 + 578


def test_input_override_and_dtype(capsys):
    text = run(["examples:simple_cnn", "--input", "1x1x28x28", "--format", "csv"])
    assert "1,4,14,14" not in text and "1x4x14x14" in text
    int_input = run(["tests/models.py:Embedder", "--input", "2x5:int64", "--format", "json"])
    assert '"dtype": "int64"' in int_input


def test_no_argument_analyses_the_default_example(capsys):
    assert main([]) == 0
    assert "Params: 6,722" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["examples:simple_cnn", "--input", "64x3x28x28"],
            "netcost: error: 0.0 (Conv2d): aten.convolution.default(input=64x3x28x28, "
            "weight=4x1x3x3, bias=4) failed: Given groups=1, weight of size [4, 1, 3, 3], "
            "expected input[64, 3, 28, 28] to have 1 channels, but got 3 channels instead",
        ),
        (["examples:simple_cn"], "unknown example 'simple_cn'"),
        (
            ["torchvision:resnet5"],
            "close matches: resnet50, resnet152, resnet34, resnet18, resnet101",
        ),
        (["simple_cnn"], "did you mean simple_cnn"),
        (["tests/models.py:Nope"], "tests/models.py defines no 'Nope'; it defines: Embedder"),
        (["missing.py:Net"], "no such file: missing.py"),
        (["examples:simple_cnn", "--input", "64by1"], "cannot read input '64by1'"),
        (["examples:simple_cnn", "--input", "2x3:float8"], "unknown dtype 'float8'"),
        (["examples:simple_cnn", "--gpus", "2"], "--gpus needs --train"),
        (["examples:simple_cnn", "--train", "--gpus", "0"], "--gpus must be 1 or more"),
    ],
)
def test_errors_are_one_line_with_exit_status_2(argv, message, tmp_path, capsys):
    """In-process: main() returns 2 and writes one line, nothing else."""
    out = tmp_path / "report.json"
    assert main([*argv, "--output", str(out)]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "Warning" not in line and line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("netcost: error:"), captured.err
    assert message in lines[0]
    assert captured.out == ""
    assert not out.exists()  # nothing is written on failure


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (  # a meta kernel's rejection: PyTorch's own traceback log stays quiet
            ["examples:nin", "--input", "64x1x28x28"],
            "3 (MaxPool2d): aten.max_pool2d_with_indices.default(self=64x256x2x2) failed: "
            "Given input size: (256x2x2). Calculated output size: (256x0x0).",
        ),
        (
            ["compare", "examples:simple_cnn", "examples:nin@64x1x28x28"],
            "3 (MaxPool2d): aten.max_pool2d_with_indices.default(self=64x256x2x2) failed",
        ),
    ],
)
def test_errors_of_a_whole_process_are_one_line_with_exit_status_2(argv, message, tmp_path):
    """In a process of its own: what PyTorch's loggers would print reaches stderr too."""
    out = tmp_path / "report.json"
    result = netcost(*argv, "--output", str(out))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "Warning" not in line and line.strip()]
    errors = [line for line in lines if line.startswith("netcost: error:")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert not out.exists()  # nothing is written on failure


def test_debug_shows_the_traceback():
    """--debug lets the error through (the interpreter prints its traceback)."""
    with pytest.raises(netcost_errors.NetcostError, match="expected input"):
        main(["examples:simple_cnn", "--input", "64x3x28x28", "--debug"])


def test_output_file(tmp_path):
    out = tmp_path / "r.md"
    assert main(["examples:simple_cnn", "--format", "markdown", "--output", str(out)]) == 0
    assert out.read_text().startswith("### Sequential")


def test_the_command_line_analyses_inference_kernels(tmp_path):
    """Under no_grad PyTorch runs nn.TransformerEncoderLayer as one fused kernel: the command
    line must see what inference runs."""
    path = tmp_path / "enc.py"
    path.write_text(
        "from torch import nn\n"
        "def Encoder():\n"
        "    return nn.TransformerEncoderLayer(64, 4, 256, batch_first=True)\n"
    )
    import json

    d = json.loads(run([f"{path}:Encoder", "--input", "2x10x64", "--format", "json"]))
    assert [o["op"] for o in d["ops"]] == ["aten._transformer_encoder_layer_fwd.default"]


def test_an_80_column_terminal_drops_columns_not_numbers(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = run(["torchvision:resnet18", "--depth", "2"])
    table = text.split("\nInput:")[0].splitlines()
    assert max(len(line.rstrip()) for line in table) <= 80
    header = table[2]
    for kept in ("Layer", "Output shape", "Params", "MACs", "% MACs", "Activations"):
        assert kept in header
    assert "118,013,952" in text  # conv1's MACs, whole: 64·3·7·7·112·112


def test_share_and_trainable_cells(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    from torch import nn

    from netcost.render import rows

    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.ReLU())
    model[1].weight.requires_grad_(False)
    report = analyze(model, input_size=(2, 4))
    cells = [dict(zip(rows.COLUMNS, rows.row(m, report, indent=False), strict=True))
             for m in report.layers]  # fmt: skip
    assert [c["Trainable"] for c in cells] == ["yes", "part", "-"]
    assert [c["% MACs"] for c in cells] == ["50.0", "50.0", "0.0"]  # 2·4·4 MACs each
