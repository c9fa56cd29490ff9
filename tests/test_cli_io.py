"""`coreai-opt` and the operating system (issue 15): signals, pipes, devices, full disks.

Every failure a user can cause is one line naming what and where, exit code 1, nothing
left behind; pipes, FIFOs, process substitution and stdin are read once.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from coreai_opt import program as program_module
from coreai_opt.bytecode import bytecode_bytes, read_bytecode_bytes
from coreai_opt.bytecode import writer as bytecode_writer
from coreai_opt.cli import main
from coreai_opt.errors import OutputError
from coreai_opt.ir.text import module_to_string
from coreai_opt.program import AIProgram, write_atomically
from coreai_opt.synthetic import Layer, write_module

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "tiny_mlp.mlir"

SLOW_WRITE = """
import sys, time
from coreai_opt import cli, program
from coreai_opt.bytecode import writer

def pause(stream):
    # The output is half-written: its temporary file exists. Wait for the signal.
    stream.flush()
    sys.stderr.write("WRITING\\n")
    sys.stderr.flush()
    time.sleep(120)

real_print = program.print_module
def slow_print(module, stream, *args, **kwargs):
    real_print(module, stream, *args, **kwargs)
    pause(stream)
program.print_module = slow_print

real_write_to = writer.BytecodeImage.write_to
def slow_write_to(self, out, hasher=None):
    real_write_to(self, out, hasher)
    pause(out)
writer.BytecodeImage.write_to = slow_write_to

sys.exit(cli.main(sys.argv[1:]))
"""
"""A test hook run in a child process: the CLI, with every output write stalled midway."""


def run_script(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The command line, as a shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "coreai_opt.cli", *argv],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`main(argv)` in process: exit code, stdout, stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A seeded two-layer model (text, 2 x 64 KiB of f16 weights)."""
    path = tmp_path_factory.mktemp("model") / "model.mlir"
    write_module(path, [Layer("w0", (64, 512)), Layer("w1", (512, 64))], seed=7)
    return path


def expected_text(path: Path) -> bytes:
    """What `coreai-opt path` prints."""
    return str(AIProgram.load(path)).encode()


# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize(
    ("signum", "output", "flags"),
    [
        (signal.SIGTERM, "out.mlir", []),
        (signal.SIGTERM, "out.aimodel", []),
        (signal.SIGTERM, "out.mlirb", ["--emit-bytecode"]),
        (signal.SIGHUP, "out.mlir", []),
        (signal.SIGHUP, "out.aimodel", []),
        (signal.SIGINT, "out.mlir", []),
    ],
    ids=["term-text", "term-bundle", "term-bytecode", "hup-text", "hup-bundle", "int-text"],
)
def test_a_signal_mid_write_leaves_nothing(
    tmp_path: Path, model: Path, signum: int, output: str, flags: list[str]
) -> None:
    """Killed while writing: the temporary file or directory is removed, an existing
    output is untouched, and the exit code says which signal (128 + N)."""
    target = tmp_path / output
    if output.endswith(".aimodel"):
        AIProgram.parse("coreai.graph @old() {\n  coreai.output\n}\n").save_asset(target)
        before = {p.name: p.read_bytes() for p in target.iterdir()}
    else:
        target.write_bytes(b"previous contents\n")
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, str(model), "-o", str(target), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert child.stderr.readline() == b"WRITING\n"
        temporary = [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{output}.")]
        assert temporary, "the write should be under way in a temporary sibling"
        child.send_signal(signum)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 128 + signum
    assert err.count(b"\n") == 1 and b"Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [output]
    if output.endswith(".aimodel"):
        assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    else:
        assert target.read_bytes() == b"previous contents\n"


def test_nohup_keeps_sighup_ignored(tmp_path: Path) -> None:
    """Under `nohup` (SIGHUP ignored) the tool does not take SIGHUP back."""
    code = (
        "import signal, sys\n"
        "from coreai_opt import cli\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "seen = {}\n"
        "real_run = cli.run\n"
        "def run(args):\n"
        "    seen['hup'] = signal.getsignal(signal.SIGHUP)\n"
        "    seen['term'] = signal.getsignal(signal.SIGTERM)\n"
        "    return real_run(args)\n"
        "cli.run = run\n"
        "cli.main(['--version'])\n"
        f"cli.main([{str(EXAMPLE)!r}, '-o', {str(tmp_path / 'o.mlir')!r}])\n"
        "print(seen['hup'] == signal.SIG_IGN, seen['term'] == cli.on_stop_signal)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.strip().splitlines()[-1] == "True True", result.stderr


def test_main_restores_the_signal_handlers() -> None:
    """main() can run inside a bigger program (or a test) and gives its handlers back."""
    before = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)]
    assert main(["--list-passes"]) == 0
    assert main([str(EXAMPLE), "-o", os.devnull]) == 0
    after = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)]
    assert after == before


# --------------------------------------------------------------------------- inputs read once


def feed_fifo(path: Path, data: bytes) -> threading.Thread:
    """A writer that opens the FIFO and writes `data` (it blocks until a reader opens it)."""

    def write() -> None:
        with open(path, "wb") as stream:
            stream.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", ["text", "bytecode"])
def test_a_named_pipe_is_read_once(tmp_path: Path, model: Path, kind: str) -> None:
    """A FIFO used to hang (opened twice): now it is read once, text or bytecode."""
    fifo = tmp_path / "input.pipe"
    os.mkfifo(fifo)
    program = AIProgram.load(model)
    data = str(program).encode() if kind == "text" else bytecode_bytes(program.module)
    expected = data if kind == "text" else module_to_string(*read_bytecode_bytes(data)).encode()
    writer = feed_fifo(fifo, data)
    result = run_script(str(fifo))
    writer.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_process_substitution(tmp_path: Path, model: Path) -> None:
    """`coreai-opt <(cat x.mlir)` used to raise UnsupportedOperation (a pipe cannot seek)."""
    command = f'"{sys.executable}" -m coreai_opt.cli <(cat "{model}") --split-input-file'
    for flags in ("", "--split-input-file"):
        result = subprocess.run(
            ["bash", "-c", command.replace("--split-input-file", flags)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected_text(model)


def test_the_api_reads_a_pipe_too(tmp_path: Path, model: Path) -> None:
    """AIProgram.load on a FIFO reads it once."""
    fifo = tmp_path / "api.pipe"
    os.mkfifo(fifo)
    writer = feed_fifo(fifo, model.read_bytes())
    program = AIProgram.load(fifo)
    writer.join(timeout=10)
    assert str(program).encode() == expected_text(model)


def test_bytecode_on_stdin(model: Path) -> None:
    """Bytecode piped in is recognised by its magic number."""
    data = bytecode_bytes(AIProgram.load(model).module)
    result = run_script("-", stdin=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == module_to_string(*read_bytecode_bytes(data)).encode()


def test_proc_files_are_read_as_what_they_hold() -> None:
    """`/proc/self/status` (size 0, yet not empty) used to be an internal OSError."""
    result = run_script("/proc/self/status")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err.startswith("/proc/self/status:1:") and err.count("\n") == 1
    assert "internal error" not in err


# --------------------------------------------------------------------------- malformed starts


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (
            b"\xef\xbb\xbf",
            "unexpected byte-order mark (U+FEFF); MLIR files must not start with one",
        ),
        (b"\x01", "unexpected character U+0001"),
        (b"`", "unexpected character '`'"),
    ],
    ids=["bom", "control-byte", "backquote"],
)
def test_a_stray_first_byte_is_one_located_line(
    tmp_path: Path, prefix: bytes, message: str
) -> None:
    """These used to be a 4-line `internal error: ParseError`; mlir-opt-22 rejects a BOM as
    well ("unexpected character" at 1:1)."""
    path = tmp_path / "start.mlir"
    path.write_bytes(prefix + EXAMPLE.read_bytes())
    result = run_script(str(path))
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode() == f"{path}:1:1: error: {message}\n"


# --------------------------------------------------------------------------- outputs


def test_emit_bytecode_to_dev_null() -> None:
    """`--emit-bytecode -o /dev/null` used to fail in fsync (a device cannot be synced)."""
    result = run_script(str(EXAMPLE), "--emit-bytecode", "-o", "/dev/null")
    assert (result.returncode, result.stderr) == (0, b"")


@pytest.mark.parametrize("flags", [[], ["--emit-bytecode"]], ids=["text", "bytecode"])
def test_a_full_device(flags: list[str]) -> None:
    """`-o /dev/full`: one line naming it."""
    result = run_script(str(EXAMPLE), *flags, "-o", "/dev/full")
    assert result.returncode == 1
    assert result.stderr == b"/dev/full: error: cannot write: no space left on device\n"


@pytest.mark.parametrize("flags", [[], ["--emit-bytecode"]], ids=["text", "bytecode"])
def test_stdout_on_a_full_device(flags: list[str]) -> None:
    """`coreai-opt x.mlir > /dev/full`: one line, and no "Exception ignored" at exit."""
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "coreai_opt.cli", str(EXAMPLE), *flags],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == b"<stdout>: error: cannot write: no space left on device\n"


def no_space(*args, **kwargs) -> None:
    """What a full disk does to a write."""
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def half_then_full(module, stream, *args, **kwargs) -> None:
    """Writes part of the program, then the disk is full."""
    stream.write(b"module {\n")
    no_space()


@pytest.mark.parametrize("output", ["out.mlir", "out.aimodel", "out.mlirb"])
def test_a_full_disk_mid_write(capsys, tmp_path: Path, monkeypatch, output: str) -> None:
    """ENOSPC halfway: one line, exit 1, no temporary left, the old output untouched."""
    monkeypatch.setattr(program_module, "print_module", half_then_full)
    monkeypatch.setattr(bytecode_writer.BytecodeImage, "write_to", no_space)
    target = tmp_path / output
    target.write_bytes(b"old\n") if output != "out.aimodel" else None
    flags = ["--emit-bytecode"] if output == "out.mlirb" else []
    code, out, err = run_cli(capsys, str(EXAMPLE), *flags, "-o", str(target))
    assert (code, out) == (1, "")
    assert err == f"{target}: error: cannot write: no space left on device\n"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ([] if output == "out.aimodel" else [output])
    if output != "out.aimodel":
        assert target.read_bytes() == b"old\n"


def refuse(*args, **kwargs) -> None:
    """What an unwritable directory does to creating a file in it."""
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


@pytest.mark.parametrize("output", ["out.mlir", "out.aimodel"])
def test_an_unwritable_directory(capsys, tmp_path: Path, monkeypatch, output: str) -> None:
    """Creating the temporary sibling is refused (simulated: the suite may run as root,
    which no permission stops)."""
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(os, "mkdir", refuse)
    target = tmp_path / output
    code, out, err = run_cli(capsys, str(EXAMPLE), "-o", str(target))
    assert (code, out) == (1, "")
    assert err == f"{target}: error: cannot write: permission denied\n"
    assert list(tmp_path.iterdir()) == []


def test_output_errors_are_os_errors_too(tmp_path: Path) -> None:
    """API callers that catch OSError still do; the message names the file."""
    with pytest.raises(OSError) as info:
        write_atomically(tmp_path / "x.mlir", no_space)
    assert isinstance(info.value, OutputError)
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == f"{tmp_path / 'x.mlir'}: error: cannot write: no space left on device"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--report=/missing/dir/r.json", "-o", os.devnull], "/missing/dir/r.json: error: the "),
        (["--report=r.txt", "-o", os.devnull], "error: --report expects FILE.json or FILE.png"),
        (["-o", "/missing/dir/out.aimodel"], "/missing/dir/out.aimodel: error: the output dir"),
    ],
    ids=["report-directory", "report-kind", "bundle-directory"],
)
def test_destinations_are_checked_before_any_work(
    capsys, monkeypatch, flags: list[str], message: str
) -> None:
    """Used to be an internal FileNotFoundError after the whole pipeline had run."""

    def no_pass_may_run(*args, **kwargs) -> None:
        raise AssertionError("the pipeline ran before the destinations were checked")

    monkeypatch.setattr("coreai_opt.cli.compress", no_pass_may_run)
    code, out, err = run_cli(capsys, str(EXAMPLE), "-p", "quantize", *flags)
    assert (code, out) == (1, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_an_unreadable_input(capsys, tmp_path: Path, monkeypatch) -> None:
    """An OS error reading the input (EIO, simulated) is one line naming it."""
    path = tmp_path / "in.mlir"
    path.write_bytes(EXAMPLE.read_bytes())
    real_open = open

    def failing_open(file, mode="r", *args, **kwargs):
        if str(file) == str(path) and "b" in mode:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    code, out, err = run_cli(capsys, str(path))
    assert (code, out) == (1, "")
    assert err == f"{path}: error: cannot read: input/output error\n"


def test_an_existing_directory_is_not_replaced(capsys, tmp_path: Path) -> None:
    """`-o` naming a directory that is not a bundle is refused, and the directory kept."""
    directory = tmp_path / "keep"
    directory.mkdir()
    (directory / "file").write_text("x")
    code, out, err = run_cli(capsys, str(EXAMPLE), "-o", str(directory))
    assert (code, out) == (1, "")
    assert (
        err == f"{directory}: error: exists and is not an .aimodel bundle; refusing to replace it\n"
    )
    assert (directory / "file").read_text() == "x"
