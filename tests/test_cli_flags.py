"""Every flag means something or is a one-line error; output survives any console and any -o."""

from __future__ import annotations

import io
import json
import sys

import pytest

import netcost
from netcost import __version__
from netcost.cli import main, run
from netcost.errors import NetcostError

CNN = "examples:simple_cnn"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("-f csv --train", "--format csv cannot show --train; it shows as table or json"),
        ("-f json --explain", "--format json cannot show --explain; it shows as table"),
        ("--style fastai -f markdown", "--format markdown cannot show --style; it shows as table"),
        ("-f csv --stages", "--format csv cannot show --stages; it shows as table"),
        (
            "-f markdown --memory",
            "--format markdown cannot show --memory; it shows as table or json",
        ),
        ("--sharding zero3", "--sharding needs --gpus"),
        ("--optimizer sgd", "--optimizer needs --train"),
        ("--top 3", "--top needs --stages"),
        ("--gpus 2", "--gpus needs --train"),
        ("--step-time 0.5", "--step-time needs --train"),  # hyphenated flags were not checked
        ("--tokens-per-second 9", "--tokens-per-second needs --train"),
        ("--train --mfu 0.4", "--mfu needs --train-tokens"),
        ("--static-cache", "--static-cache needs --generate"),
        ("--kernels fused", "--kernels needs --device"),
        (
            "--device h100-sxm --kernels tiled",
            "argument --kernels: invalid choice: 'tiled' (choose from 'eager', 'fused') "
            "(see netcost --help)",
        ),
        (
            "--train --gpus 2 --sharding zero3 --explain",
            "--train does not apply to --explain: it shows the forward only",
        ),
        ("-d 2 -f json", "--depth does not apply to --format json: it limits the table's rows"),
        ("-d 2 --stages", "--depth does not apply to --stages: it limits the table's rows"),
        (
            "--explain --stages",
            "--explain and --stages are two views (each layer's derivations, where the compute "
            "goes): give one",
        ),
        (
            "--memory --style keras",
            "--style and --memory are two views (another library's table, memory): give one",
        ),
        (
            "--memory-budget 1GiB --html x.html",
            "--plot and --html show one report: --memory-budget analyses many",
        ),
    ],
)
def test_flags_that_cannot_apply_are_one_line_errors(flags, message, capsys):
    assert main([CNN, *flags.split()]) == 2
    assert capsys.readouterr().err == f"netcost: error: {message}\n"


def test_argparse_errors_are_one_line_and_version_prints(capsys):
    assert main([CNN, "--bogus"]) == 2
    assert (
        capsys.readouterr().err
        == "netcost: error: unrecognized arguments: --bogus (see netcost --help)\n"
    )
    assert main(["spec"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "netcost: error: the following arguments are required: SPEC (see netcost spec --help)\n"
    )
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out == f"netcost {__version__}\n"


def test_a_negative_input_is_an_input_refused_with_its_reason(capsys):
    assert main([CNN, "--input", "-1x3"]) == 2
    assert "cannot read input '-1x3'" in capsys.readouterr().err


def test_list_names_what_a_source_accepts():
    assert run(["list", "examples", "simple_*"]) == "examples:simple_cnn\n"
    listed = run(["list", "torchvision", "resnet1*"]).split()
    assert listed == ["torchvision:resnet101", "torchvision:resnet152", "torchvision:resnet18"]
    with pytest.raises(NetcostError, match="no timm model matches 'zzzz'"):
        run(["list", "timm", "zzzz"])


def test_spec_batch_refuses_an_input_that_has_its_batch(capsys):
    assert main(["spec", "Conv2d(3, 8, 3)", "-i", "8x3x32x32", "-b", "4"]) == 2
    assert capsys.readouterr().err == (
        "netcost: error: --batch puts a batch in front of a one-sample input (3 dims for Conv2d); "
        "8x3x32x32 is not one: drop --batch or give one sample\n"
    )


def test_output_path_is_checked_before_anything_is_analysed(tmp_path, capsys):
    """An unknown model would fail later: the -o error comes first."""
    assert main(["hf:no_such_model", "-o", str(tmp_path / "nodir" / "x.txt")]) == 2
    assert (
        capsys.readouterr().err
        == f"netcost: error: -o {tmp_path}/nodir/x.txt: there is no folder {tmp_path}/nodir\n"
    )
    assert main(["hf:no_such_model", "-o", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err
        == f"netcost: error: -o {tmp_path}: that is a folder; give a file name\n"
    )


def test_a_failed_run_leaves_the_output_file_as_it_was(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("old report\n")
    assert main(["examples:no_such_example", "-o", str(keep)]) == 2
    assert keep.read_text() == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]  # no temporary left behind
    assert main([CNN, "-o", str(keep)]) == 0
    assert keep.read_bytes().decode("utf-8").startswith("Sequential\n┏━━")


def test_a_console_that_cannot_encode_box_drawing_gets_ascii(monkeypatch):
    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", console)
    assert main([CNN]) == 0
    console.flush()
    text = raw.getvalue().decode("ascii")
    assert text.splitlines()[1].startswith("+-------+----")
    assert "| Layer | Type" in text


def test_what_the_model_prints_goes_to_stderr_and_json_stays_json(tmp_path, capsys, monkeypatch):
    (tmp_path / "chatty.py").write_text(
        "from torch import nn\n"
        "class Chatty(nn.Linear):\n"
        "    def forward(self, x):\n"
        "        print('forward called with', tuple(x.shape))\n"
        "        return super().forward(x)\n"
        "def make():\n"
        "    return Chatty(4, 2)\n"
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert main([f"{tmp_path}/chatty.py:make", "-i", "3x4", "-f", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["total"]["macs"] == 3 * 4 * 2
    assert "forward called with (3, 4)" in err


def test_tables_have_no_trailing_spaces_and_take_a_width(capsys):
    out = run([CNN, "--width", "200"]) + run([CNN, "--stages"]) + run([CNN, "--memory"])
    assert all(line == line.rstrip() for line in out.splitlines())
    narrow = run([CNN, "--width", "80"])
    wide = run([CNN, "--width", "200"])
    assert max(map(len, narrow.splitlines())) <= 80 < max(map(len, wide.splitlines()))


def test_the_api_refuses_what_the_cli_refuses_with_the_same_words():
    from netcost.examples import simple_cnn

    report = netcost.analyze(simple_cnn(), input_size="1x1x28x28")
    for call in (lambda: report.stages(0), lambda: report.stages(1, -1)):
        with pytest.raises(NetcostError, match="stages take a depth of 1 or more and a top of 0"):
            call()
    assert main([CNN, "--stages", "0"]) == 2
    with pytest.raises(NetcostError, match="unknown convention 'flops'; choose one of"):
        netcost.analyze(simple_cnn(), input_size=(1, 1, 28, 28), convention="flops")
    with pytest.raises(NetcostError, match="unknown convention 'flops'; choose one of"):
        run([CNN, "--convention", "flops"])
    with pytest.raises(NetcostError, match=r"every size must be 1 or more, not -1"):
        netcost.analyze(simple_cnn(), input_size=(-1, 1, 28, 28))
    with pytest.raises(NetcostError, match=r"larger than PyTorch allows"):
        netcost.analyze(simple_cnn(), input_size=(10**23, 1, 28, 28))
    with pytest.raises(NetcostError, match="compare needs one report or more"):
        netcost.compare([])


def test_output_files_keep_the_replaced_mode_or_take_the_umask(tmp_path):
    import os

    fresh = tmp_path / "fresh.txt"
    old = os.umask(0o022)
    try:
        assert main([CNN, "-o", str(fresh)]) == 0
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o644  # 0o666 less the umask, not mkstemp's 0o600
    shared = tmp_path / "shared.txt"
    shared.write_text("old\n")
    shared.chmod(0o664)
    assert main([CNN, "-o", str(shared)]) == 0
    assert shared.stat().st_mode & 0o777 == 0o664


def test_html_and_plot_paths_are_checked_before_the_analysis(tmp_path, capsys):
    for flag in ("--html", "--plot"):
        missing = tmp_path / "nodir" / "x.html"
        assert main(["hf:no_such_model", flag, str(missing)]) == 2
        assert capsys.readouterr().err == (
            f"netcost: error: {flag} {missing}: there is no folder {tmp_path}/nodir\n"
        )


def test_a_serving_plan_needs_its_memory(capsys):
    assert main(["hf:llama", "--generate", "16:4", "--memory"]) == 2
    assert capsys.readouterr().err == (
        "netcost: error: --generate with --memory plans a serving batch: give --device (its "
        "memory) or --memory-budget\n"
    )
