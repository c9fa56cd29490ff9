"""`coreai-opt`: exit codes, one-line errors, outputs, splitting, reports.

Most tests call `main(argv)` in process (fast); a few run the installed console script to
check what a shell sees.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from coreai_opt import __version__
from coreai_opt.cli import main, split_chunks
from coreai_opt.program import AIProgram

GOOD = """module {
  coreai.graph @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
    %w = coreai.constant dense_resource<w> : tensor<4xf32>
    %y = coreai.add %x, %w : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
    coreai.output %y : tensor<1x4xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
"""

BAD = """coreai.graph @main(%x: tensor<2xf16>) -> tensor<2xf32> {
  coreai.output %x : tensor<2xf16>
}
"""

ONE_LINE_ERROR = re.compile(r"^[^\n]+:\d+:\d+: error: [^\n]+\n$")


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """A valid input file."""
    path = tmp_path / "good.mlir"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    """An input whose output op does not match the graph's result type (line 2, col 3)."""
    path = tmp_path / "bad.mlir"
    path.write_text(BAD)
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`main(argv)` in process: exit code, stdout, stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_script(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The installed console script, as a shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "coreai_opt.cli", *argv],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


# --------------------------------------------------------------------------- success


def test_prints_the_program_and_exits_0(capsys, good: Path) -> None:
    """No pipeline: the canonical text of the input."""
    assert run_cli(capsys, str(good)) == (0, GOOD, "")


def test_runs_a_pipeline(capsys, good: Path) -> None:
    """`-p` runs passes; here the weight becomes f16 (a literal, it is small)."""
    code, out, err = run_cli(capsys, str(good), "-p", "cast-to-fp16")
    assert code == 0 and err == ""
    values = "[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]"
    assert f"%w = coreai.constant dense<{values}> : tensor<4xf16>" in out
    assert "f32" not in out


def test_writes_the_output_file(capsys, good: Path, tmp_path: Path) -> None:
    """`-o` writes the text and nothing goes to stdout."""
    target = tmp_path / "out.mlir"
    assert run_cli(capsys, str(good), "-o", str(target)) == (0, "", "")
    assert target.read_text() == GOOD


def test_generic_output(capsys, good: Path) -> None:
    """`--print-op-generic` output parses back to the same program."""
    code, out, _ = run_cli(capsys, str(good), "--print-op-generic")
    assert code == 0
    assert '"coreai.add"(%x, %w)' in out
    assert str(AIProgram.parse(out)) == GOOD


def test_version(capsys) -> None:
    """`--version` prints the package version."""
    assert run_cli(capsys, "--version") == (0, f"coreai-opt {__version__}\n", "")


def test_list_passes(capsys) -> None:
    """Every pass with its one-line summary."""
    code, out, _ = run_cli(capsys, "--list-passes")
    assert code == 0
    assert out.startswith("Available passes:\n")
    for name in ("optimize", "cast-to-fp16", "decompress"):
        assert re.search(rf"^  {re.escape(name)} +\S", out, re.MULTILINE), name


def test_stdin_and_stdout_through_the_console_script() -> None:
    """`-` reads stdin; exit code 0 and the canonical text on stdout."""
    result = run_script("-", stdin=GOOD.encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == GOOD
    assert result.stderr == b""


def test_version_through_the_console_script() -> None:
    """The installed `coreai-opt` command answers `--version`."""
    result = subprocess.run(
        ["coreai-opt", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout) == (0, f"coreai-opt {__version__}\n")


# --------------------------------------------------------------------------- errors


def test_invalid_ir_is_one_located_line_and_exit_1(capsys, bad: Path) -> None:
    """`file:line:col: error: ...` on stderr, nothing on stdout."""
    code, out, err = run_cli(capsys, str(bad))
    assert code == 1 and out == ""
    assert ONE_LINE_ERROR.match(err), err
    assert err.startswith(f"{bad}:2:3: error: 'coreai.output' op output types")


def test_output_file_is_not_written_on_error(capsys, bad: Path, tmp_path: Path) -> None:
    """A new output path is not created; an existing one keeps its contents."""
    new = tmp_path / "new.mlir"
    assert run_cli(capsys, str(bad), "-o", str(new))[0] == 1
    assert not new.exists()
    existing = tmp_path / "existing.mlir"
    existing.write_text("keep me\n")
    assert run_cli(capsys, str(bad), "-o", str(existing))[0] == 1
    assert existing.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mlir", "existing.mlir"]


def test_pass_failure_does_not_write_the_output(capsys, tmp_path: Path) -> None:
    """An error during a pass (not parsing) also leaves no output file."""
    source = tmp_path / "sparse.mlir"
    source.write_text(
        """coreai.graph @main() -> tensor<4xf16> {
  %v = coreai.constant dense<[1.0, 2.0]> : tensor<2xf16>
  %m = coreai.constant dense<[1, 1, 1, 0]> : tensor<4xui1>
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<2xf16>, tensor<4xui1>) -> !coreai.sparse<tensor<4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<4xf16>>) -> tensor<4xf16>
  coreai.output %d : tensor<4xf16>
}
"""  # noqa: E501
    )
    target = tmp_path / "out.mlir"
    code, out, err = run_cli(capsys, str(source), "-p", "decompress", "-o", str(target))
    assert code == 1 and out == ""
    assert err.startswith("error: pass 'decompress' failed:") and err.count("\n") == 1
    assert not target.exists()


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ("no-such-pass", "error: unknown pass 'no-such-pass' (available passes: "),
        ("optimize<bogus=1>", "error: pass 'optimize' has no option 'bogus' (valid options: none)"),
        ("optimize decompress", "error: expected ',' between passes at column 10"),
    ],
)
def test_pipeline_errors_come_first(capsys, tmp_path: Path, pipeline: str, expected: str) -> None:
    """Pipeline errors are reported before the input is even read (here it does not exist)."""
    code, out, err = run_cli(capsys, str(tmp_path / "missing.mlir"), "-p", pipeline)
    assert code == 1 and out == ""
    assert err.startswith(expected) and err.count("\n") == 1


def test_missing_input(capsys, tmp_path: Path) -> None:
    """One line naming the file."""
    missing = tmp_path / "missing.mlir"
    assert run_cli(capsys, str(missing)) == (1, "", f"{missing}: error: no such file\n")


def test_bad_flag_is_one_line_and_exit_1(capsys) -> None:
    """argparse errors are reformatted to one line, exit code 1 (not 2)."""
    with pytest.raises(SystemExit) as info:
        main(["--no-such-flag"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == "coreai-opt: error: unrecognized arguments: --no-such-flag (see --help)\n"


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00garbage",
        b"module {\n  coreai.graph @main() {\n",
        b"coreai.graph @g() {\n  %c = coreai.constant dense<300> : tensor<ui8>\n"
        b"  coreai.output\n}\n",
        b"coreai.graph @g() {\n  coreai.output\n}\n{-#\n  dialect_resources: {\n",
        b'{-#\n  dialect_resources: { builtin: { w: "0x0100' + b"0" * 10_001 + b'" } }\n#-}\n',
    ],
    ids=["binary", "truncated", "literal-out-of-range", "truncated-resources", "odd-hex"],
)
def test_bad_input_never_shows_a_traceback(tmp_path: Path, content: bytes) -> None:
    """Whatever the input, the shell sees exit code 1 and one line on stderr."""
    path = tmp_path / "input.mlir"
    path.write_bytes(content)
    result = run_script(str(path))
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.count("\n") == 1 and "error" in err


# --------------------------------------------------------------------------- splitting


SPLIT = """coreai.graph @first() {
  coreai.output
}

// -----

coreai.graph @second(%x: tensor<2xf16>) -> tensor<2xf16> {
  coreai.output %x : tensor<2xf16>
}

// -----

coreai.graph @third(%x: tensor<2xf16>) -> tensor<2xf32> {
  coreai.output %x : tensor<2xf16>
}
"""


def test_split_chunks_keep_file_line_numbers() -> None:
    """Each chunk is padded with newlines so that its lines keep their file numbers."""
    chunks = split_chunks(SPLIT)
    assert len(chunks) == 3
    assert chunks[1].splitlines()[6] == "coreai.graph @second(%x: tensor<2xf16>) -> tensor<2xf16> {"
    assert chunks[2].splitlines()[12].startswith("coreai.graph @third")


def test_split_input_file_prints_each_module(capsys, tmp_path: Path) -> None:
    """One module per chunk, separated by `// -----`; the whole output re-parses split."""
    path = tmp_path / "split.mlir"
    path.write_text(SPLIT.rsplit("// -----", 1)[0])
    code, out, _ = run_cli(capsys, str(path), "--split-input-file")
    assert code == 0
    modules = out.split("\n// -----\n")
    assert len(modules) == 2
    assert "@first" in modules[0] and "@second" in modules[1]
    again = tmp_path / "again.mlir"
    again.write_text(out)
    assert run_cli(capsys, str(again), "--split-input-file")[1] == out


def test_split_error_reports_the_file_line(capsys, tmp_path: Path) -> None:
    """An error in the third chunk points at line 14 of the file; exit code 1."""
    path = tmp_path / "split.mlir"
    path.write_text(SPLIT)
    code, out, err = run_cli(capsys, str(path), "--split-input-file")
    assert code == 1 and out == ""
    assert err.startswith(f"{path}:14:3: error: 'coreai.output' op")


def test_verify_diagnostics_prints_errors_on_stdout(capsys, tmp_path: Path) -> None:
    """Each chunk's error replaces its module on stdout; the exit code is 0."""
    path = tmp_path / "split.mlir"
    path.write_text(SPLIT)
    code, out, err = run_cli(capsys, str(path), "--split-input-file", "--verify-diagnostics")
    assert code == 0 and err == ""
    chunks = out.split("\n// -----\n")
    assert len(chunks) == 3
    assert (
        chunks[2] == f"{path}:14:3: error: 'coreai.output' op output types (tensor<2xf16>) "
        "do not match the graph's result types (tensor<2xf32>)\n"
    )


def test_verify_diagnostics_without_split(capsys, bad: Path) -> None:
    """A single error goes to stdout and the exit code is 0."""
    code, out, err = run_cli(capsys, str(bad), "--verify-diagnostics")
    assert (code, err) == (0, "")
    assert ONE_LINE_ERROR.match(out)


# --------------------------------------------------------------------------- reports


def test_statistics_and_timing_go_to_stderr(capsys, good: Path) -> None:
    """Reports never mix with the program on stdout."""
    code, out, err = run_cli(
        capsys, str(good), "-p", "cast-to-fp16,optimize", "--mlir-pass-statistics", "--mlir-timing"
    )
    assert code == 0
    assert "report" not in out
    assert AIProgram.parse(out) is not None
    assert "... Pass statistics report ..." in err
    assert "(S)            1 constants-converted" in err
    assert "... Execution time report ..." in err
    assert re.search(r"^ +\d+\.\d{4} \(100\.0%\)  Total$", err, re.MULTILINE)


def test_warnings_are_located_and_quiet_silences_them(capsys, tmp_path: Path) -> None:
    """Pass warnings: `file:line:col: warning: ...` on stderr, none with `--quiet`."""
    path = tmp_path / "big.mlir"
    path.write_text(
        "coreai.graph @g() -> tensor<1xf32> {\n"
        "  %c = coreai.constant dense<[1.0e+06]> : tensor<1xf32>\n"
        "  coreai.output %c : tensor<1xf32>\n}\n"
    )
    code, _, err = run_cli(capsys, str(path), "-p", "cast-to-fp16")
    assert code == 0
    assert err.startswith(f"{path}:2:3: warning: constant 'c'")
    assert run_cli(capsys, str(path), "-p", "cast-to-fp16", "--quiet")[2] == ""
