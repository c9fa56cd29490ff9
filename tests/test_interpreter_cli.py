"""`coreai-opt run` and `coreai-opt compare`: outputs, formats, one-line errors."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coreai_opt.cli import main
from coreai_opt.interpreter import run
from coreai_opt.pipeline import Pipeline
from coreai_opt.program import AIProgram
from coreai_opt.synthetic import Layer

from .conftest import build_program

EMBED = """module {
  coreai.graph @main(%ids: tensor<?x3xsi32> {coreai.name = "ids"}) -> (tensor<?x3x4xf32> {coreai.name = "emb"}) {
    %table = coreai.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<2x4xf32>
    %axis = coreai.constant dense<2> : tensor<1xsi32>
    %e = coreai.expand_dims %ids, %axis : (tensor<?x3xsi32>, tensor<1xsi32>) -> tensor<?x3x1xsi32>
    %r = coreai.gather_nd %table, %e : (tensor<2x4xf32>, tensor<?x3x1xsi32>) -> tensor<?x3x4xf32>
    coreai.output %r : tensor<?x3x4xf32>
  }
}
"""  # noqa: E501


@pytest.fixture
def mlp(tmp_path: Path) -> Path:
    program = build_program(tmp_path, [Layer("w0", (64, 512)), Layer("w1", (32, 64))], seed=2)
    path = tmp_path / "mlp.mlir"
    program.save(path)
    return path


@pytest.fixture
def mlp_int4(tmp_path: Path, mlp: Path) -> Path:
    program = AIProgram.load(mlp)
    Pipeline.parse("quantize<dtype=int4,granularity=per_block,block_size=32>").run(program)
    path = tmp_path / "mlp_int4.aimodel"
    program.save_asset(path)
    return path


def test_run_writes_outputs_by_name(tmp_path: Path, mlp: Path) -> None:
    x = np.random.default_rng(0).standard_normal((1, 512)).astype(np.float16)
    np.savez(tmp_path / "in.npz", x=x)
    out = tmp_path / "out.npz"
    assert main(["run", str(mlp), "--inputs", str(tmp_path / "in.npz"), "-o", str(out)]) == 0
    with np.load(out) as data:
        np.testing.assert_array_equal(data["y"], run(AIProgram.load(mlp), {"x": x})["y"])


def test_run_random_inputs_are_seeded_and_saved(tmp_path: Path, mlp: Path) -> None:
    paths = [tmp_path / f"{name}.npz" for name in ("o1", "i1", "o2")]
    base = ["run", str(mlp), "--random-inputs", "2", "--seed", "5"]
    assert main([*base, "-o", str(paths[0]), "--save-inputs", str(paths[1])]) == 0
    assert main([*base, "-o", str(paths[2])]) == 0
    with np.load(paths[0]) as first, np.load(paths[2]) as second, np.load(paths[1]) as inputs:
        assert sorted(first.files) == ["y/0", "y/1"] and sorted(inputs.files) == ["x/0", "x/1"]
        np.testing.assert_array_equal(first["y/1"], second["y/1"])
        assert not np.array_equal(first["y/0"], first["y/1"])


def test_run_prints_a_summary_without_output_file(mlp: Path, capsys) -> None:
    assert main(["run", str(mlp)]) == 0
    assert capsys.readouterr().out.startswith("y  1x32  float16  mean ")


def test_random_index_inputs_are_valid_and_dynamic_dims_follow_dim(tmp_path: Path) -> None:
    path = tmp_path / "embed.mlir"
    path.write_text(EMBED)
    out = tmp_path / "o.npz"
    inputs = tmp_path / "i.npz"
    args = ["run", str(path), "--random-inputs", "1", "--dim", "ids:0=6", "-o", str(out)]
    assert main([*args, "--save-inputs", str(inputs)]) == 0
    with np.load(inputs) as data:
        ids = data["ids"]
    assert ids.shape == (6, 3) and ids.min() >= 0 and ids.max() <= 1
    with np.load(out) as data:
        assert data["emb"].shape == (6, 3, 4)


def test_compare_table_and_json(mlp: Path, mlp_int4: Path, capsys) -> None:
    assert main(["compare", str(mlp), str(mlp_int4), "--random-inputs", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["output", "shape", "SNR", "dB", "cosine", "max", "abs", "err"]
    name, shape, snr, cosine, _ = lines[1].split()
    assert (name, shape) == ("y", "1x32") and 5 < float(snr) < 60 and 0.9 < float(cosine) < 1
    assert lines[2] == "(3 input samples)"
    assert main(["compare", str(mlp), str(mlp_int4), "--json", "--seed", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == 1 and report["outputs"][0]["name"] == "y"
    assert set(report["outputs"][0]) == {"name", "shape", "snr_db", "cosine", "max_abs_error"}


def test_compare_a_program_with_itself_is_exact(mlp: Path, capsys) -> None:
    assert main(["compare", str(mlp), str(mlp), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)["outputs"][0]
    assert output["snr_db"] == "inf" and output["cosine"] == 1.0 and output["max_abs_error"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope.mlir"], "nope.mlir: error: no such file\n"),
        (["run", "{mlp}", "--inputs", "nope.npz"], "nope.npz: error: --inputs: no such file\n"),
        (
            ["run", "{mlp}", "--dim", "x=y"],
            "error: --dim expects SIZE, NAME=SIZE or NAME:AXIS=SIZE",
        ),
        (["run", "{mlp}", "--random-inputs", "0"], "error: --random-inputs must be at least 1"),
        (["run", "{mlp}", "--graph", "g"], "error: no graph @g in the program (graphs: @main)\n"),
        (["run", "{mlp}", "--inputs", "{bad}"], "error: --inputs: not a readable .npz file"),
        (["run", "{mlp}", "--inputs", "{wrong}"], "error: input 'x' has shape [2] but @main"),
        (["compare", "{mlp}"], "coreai-opt compare: error: the following arguments are required"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, mlp: Path, capsys, args, message: str) -> None:
    (tmp_path / "bad.npz").write_text("not a zip")
    np.savez(tmp_path / "wrong.npz", x=np.zeros(2, np.float16))
    values = {
        "mlp": str(mlp),
        "bad": str(tmp_path / "bad.npz"),
        "wrong": str(tmp_path / "wrong.npz"),
    }
    argv = [a.format(**values) for a in args]
    usage_error = argv[0] == "compare" and len(argv) == 2  # argparse exits by itself
    with pytest.raises(SystemExit) if usage_error else contextlib.nullcontext():
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_nothing_is_written_on_error(tmp_path: Path, mlp: Path) -> None:
    out = tmp_path / "out.npz"
    assert main(["run", str(mlp), "--graph", "nope", "-o", str(out)]) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.npz.*"))


def test_the_console_script_runs_compare(mlp: Path, mlp_int4: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coreai_opt.cli", "compare", str(mlp), str(mlp_int4)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("output"), result.stderr


def test_bytecode_runs_like_text(tmp_path: Path, mlp: Path, capsys) -> None:
    bytecode = tmp_path / "mlp.mlirb"
    AIProgram.load(mlp).save(bytecode)
    assert main(["compare", str(mlp), str(bytecode), "--json", "--random-inputs", "2"]) == 0
    output = json.loads(capsys.readouterr().out)["outputs"][0]
    assert output["snr_db"] == "inf" and output["max_abs_error"] == 0
