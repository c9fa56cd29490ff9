"""`coreai-opt`: the command-line driver, in the habits of `mlir-opt` and `xdsl-opt`.

Imports stay lazy: `--version` and argument errors never load xDSL or numpy, and lit runs
this once per test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn

SPLIT_MARKER = "// -----"


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line and exits with 1."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"coreai-opt: error: {message} (see --help)\n")
        raise SystemExit(1)


def build_argument_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = OneLineArgumentParser(
        prog="coreai-opt",
        description="Compress the weights of Core AI programs (MLIR `coreai` dialect).",
    )
    parser.add_argument(
        "input",
        nargs="?",
        default="-",
        help="input .mlir file, MLIR bytecode (.mlirb), .aimodel bundle, or - for stdin",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        help="output file (default: stdout); a name ending in .aimodel writes a bundle",
    )
    parser.add_argument(
        "-p",
        "--pass-pipeline",
        default="",
        help='passes to run, e.g. "cast-to-fp16,palettize<n_bits=4>"',
    )
    parser.add_argument("--list-passes", action="store_true", help="list passes and their options")
    parser.add_argument(
        "--split-input-file",
        action="store_true",
        help=f"process each chunk between '{SPLIT_MARKER}' lines separately",
    )
    parser.add_argument(
        "--verify-diagnostics",
        action="store_true",
        help="print errors on stdout and exit 0 (for lit tests of diagnostics)",
    )
    parser.add_argument(
        "--print-op-generic", action="store_true", help="print ops in MLIR's generic form"
    )
    parser.add_argument(
        "--mlir-print-debuginfo",
        action="store_true",
        help="print each op's location: loc(...) as read, else its file:line:col",
    )
    parser.add_argument(
        "--emit-bytecode",
        action="store_true",
        help="write MLIR bytecode (.mlirb) instead of text",
    )
    parser.add_argument("--mlir-timing", action="store_true", help="report time per pass")
    parser.add_argument(
        "--mlir-pass-statistics", action="store_true", help="report per-pass statistics"
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="do not run verifiers after each pass"
    )
    parser.add_argument(
        "--report",
        nargs="?",
        const="-",
        metavar="FILE",
        help="per-weight compression report: a table (no FILE), FILE.json, or FILE.png (plot)",
    )
    parser.add_argument("--quiet", action="store_true", help="no warnings or progress on stderr")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


@dataclass
class Timings:
    """Wall time of parsing, each pass and printing (for `--mlir-timing`)."""

    entries: list[tuple[str, float]] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        """Accumulate `seconds` under `name` (repeated names add up)."""
        for index, (existing, total) in enumerate(self.entries):
            if existing == name:
                self.entries[index] = (name, total + seconds)
                return
        self.entries.append((name, seconds))

    def report(self) -> str:
        """MLIR-style execution time report."""
        total = sum(seconds for _, seconds in self.entries) or 1e-12
        rule = "===" + "-" * 73 + "==="
        lines = [
            rule,
            "                         ... Execution time report ...",
            rule,
            f"  Total Execution Time: {total:.4f} seconds",
            "",
            "  ----Wall Time----  ----Name----",
        ]
        for name, seconds in self.entries:
            lines.append(f"  {seconds:10.4f} ({100 * seconds / total:5.1f}%)  {name}")
        lines.append(f"  {total:10.4f} (100.0%)  Total")
        return "\n".join(lines) + "\n"


def statistics_report(runs: Sequence) -> str:
    """MLIR-style pass statistics report."""
    rule = "===" + "-" * 73 + "==="
    lines = [rule, "                         ... Pass statistics report ...", rule]
    lines.append("'builtin.module' Pipeline")
    for run in runs:
        lines.append(f"  {run.pass_name}")
        for key, value in run.statistics.items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            description = run.descriptions.get(key, "")
            lines.append(
                f"    (S) {shown:>12} {key}" + (f" - {description}" if description else "")
            )
    return "\n".join(lines) + "\n"


def list_passes() -> str:
    """Names, options (type, default, choices) and one-line docs of every pass."""
    from coreai_opt.pipeline import format_value, load_all_passes

    lines = ["Available passes:"]
    for name, cls in load_all_passes().items():
        lines.append(f"  {name:<16} {cls.summary()}")
        for info in cls.options():
            detail = f"default {format_value(info.default)}"
            if info.choices is not None:
                detail += "; one of " + ", ".join(format_value(c) for c in info.choices)
            lines.append(f"      {info.name}=<{info.type_name}>  {info.help} ({detail})")
    return "\n".join(lines) + "\n"


def read_text_input(source) -> bytes:
    """The whole of a textual input, for `--split-input-file` (read once)."""
    from coreai_opt.errors import IRError, opening

    if source.data is not None:
        return source.data
    with opening(source.path, IRError, "a .mlir file"), open(source.path, "rb") as stream:
        return stream.read()


def split_chunks(text: str) -> list[str]:
    """Split at `// -----` lines; each chunk is padded so line numbers match the file."""
    chunks, current, first_line = [], [], 1
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        if line.strip() == SPLIT_MARKER:
            chunks.append("\n" * (first_line - 1) + "".join(current))
            current, first_line = [], number + 1
        else:
            current.append(line)
    chunks.append("\n" * (first_line - 1) + "".join(current))
    return chunks


@dataclass
class Options:
    """Parsed command-line options the processing needs."""

    pipeline_text: str
    generic: bool
    verify_each: bool
    debuginfo: bool
    timings: Timings | None
    report: str | None = None
    output: str = "-"


def process_chunk(source: bytes, name: str, options: Options, runs: list) -> bytes:
    """Parse, run the pipeline and print one module; returns the printed bytes."""
    from coreai_opt.inputs import Input
    from coreai_opt.ir.text import print_module

    program = load_program(Input(name, "text", data=source), options.timings)
    runs.extend(compress(program, options))
    start = time.perf_counter()
    out = io.BytesIO()
    print_module(program.module, out, program.metadata, options.generic, options.debuginfo)
    if options.timings:
        options.timings.add("Output", time.perf_counter() - start)
    return out.getvalue()


def compress(program, options: Options) -> list:
    """Run the pipeline in place, then the report and timings it asks for; returns the runs."""
    from coreai_opt.pipeline import Pipeline

    original = program.copy() if options.report else None
    pipeline = Pipeline.parse(options.pipeline_text)
    pipeline.run(program, verify_each=options.verify_each)
    if original is not None:
        left_dense: dict[str, str] = {}
        for pass_run in pipeline.runs:
            for weight, reason in pass_run.left_dense.items():
                left_dense.setdefault(weight, reason)
        plans = [run.details["plan"] for run in pipeline.runs if "plan" in run.details]
        write_report(original, program, options, left_dense, plans)
    if options.timings:
        for pass_run in pipeline.runs:
            options.timings.add(pass_run.pass_name, pass_run.seconds)
    return pipeline.runs


def write_report(
    original, program, options: Options, left_dense: dict[str, str], plans: Sequence = ()
) -> None:
    """`--report`: a table (stdout when -o is a file, else stderr), JSON or a PNG plot; a
    `mixed-precision` plan is shown before the table and kept in the JSON."""
    import json

    from coreai_opt.errors import writing
    from coreai_opt.inspection import compression_report, plot_report

    report = compression_report(original, program, left_dense)
    target = options.report
    if target == "-":
        stream = sys.stdout if options.output != "-" else sys.stderr
        for plan in plans:
            stream.write(plan.table() + "\n")
        stream.write(report.table())
    elif target.endswith(".json"):
        from pathlib import Path

        from coreai_opt.atomic import write_atomically

        data = report.to_dict()
        if plans:
            data["mixed_precision"] = [plan.to_dict() for plan in plans]
        text = (json.dumps(data, indent=2, allow_nan=False) + "\n").encode("utf-8")
        write_atomically(Path(target), lambda stream: stream.write(text))
    else:
        with writing(target):
            plot_report(report, target)


def check_destinations(args: argparse.Namespace) -> None:
    """Fail before any work when `-o` or `--report` cannot be written where asked."""
    from coreai_opt.errors import AssetError, CoreAIError, IRError

    report = args.report
    if report not in (None, "-") and not report.endswith((".json", ".png")):
        raise CoreAIError(f"--report expects FILE.json or FILE.png, got '{report}'")
    if args.output != "-":
        error = AssetError if is_bundle_path(args.output) else IRError
        check_directory_of(args.output.rstrip("/") or "/", error, "the output directory")
    if report not in (None, "-"):
        check_directory_of(report, CoreAIError, "the report's directory")


def check_directory_of(path: str, error: type, what: str) -> None:
    """The directory `path` would be written into must exist."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise error(f"{what} does not exist", path)


def write_output(path: str, data: bytes) -> None:
    """Write the result atomically (a temporary sibling renamed), or to stdout."""
    if path == "-":
        write_stdout(lambda stream: stream.write(data))
        return
    from pathlib import Path

    from coreai_opt.atomic import write_atomically

    write_atomically(Path(path), lambda stream: stream.write(data))


def write_stdout(write) -> None:
    """Call `write(binary stdout)` and flush; a failure (a full disk) is one OutputError."""
    from coreai_opt.errors import writing

    with writing("<stdout>"):
        write(sys.stdout.buffer)
        sys.stdout.flush()


def configure_logging(quiet: bool) -> None:
    """Warnings from passes go to stderr as `file:line:col: warning: ...` lines."""
    logger = logging.getLogger("coreai_opt")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)


def is_bundle_path(path: str) -> bool:
    """Outputs named `*.aimodel` (and existing bundle directories) are bundles."""
    return path != "-" and (path.rstrip("/").endswith(".aimodel") or os.path.isdir(path))


def is_bundle_like(path: str) -> bool:
    """A directory we read as a bundle: named `*.aimodel` or holding `main.mlirb`."""
    bundle_like = path.rstrip("/").endswith(".aimodel")
    return bundle_like or os.path.isfile(os.path.join(path, "main.mlirb"))


def load_program(source, timings: Timings | None):
    """A whole program from an opened input: a bundle, bytecode or text."""
    from coreai_opt.program import AIProgram

    start = time.perf_counter()
    program = AIProgram.from_input(source)
    if timings:
        timings.add("Parser", time.perf_counter() - start)
    return program


def write_program(program, args: argparse.Namespace, timings: Timings | None) -> None:
    """Stream the result: a bundle, bytecode, or text (never built whole in memory)."""
    from coreai_opt.ir.text import print_module

    start = time.perf_counter()
    if is_bundle_path(args.output):
        from coreai_opt.bundle import save_asset

        save_asset(program, args.output, overwrite=True)
    elif args.emit_bytecode:
        from coreai_opt.bytecode import write_bytecode, write_bytecode_stream

        if args.output == "-":
            write_stdout(
                lambda stream: write_bytecode_stream(program.module, program.metadata, stream)
            )
        else:
            write_bytecode(program.module, program.metadata, args.output)
    elif args.output == "-":
        write_stdout(
            lambda stream: print_module(
                program.module,
                stream,
                program.metadata,
                args.print_op_generic,
                args.mlir_print_debuginfo,
            )
        )
    else:
        program.save(
            args.output, generic=args.print_op_generic, debuginfo=args.mlir_print_debuginfo
        )
    if timings:
        timings.add("Output", time.perf_counter() - start)


def run_whole_program(args: argparse.Namespace, options: Options, source) -> int:
    """One whole program (text, bytecode or a bundle), streamed from and to disk."""
    if args.split_input_file:
        from coreai_opt.errors import CoreAIError

        raise CoreAIError("--split-input-file works on textual input and output only")
    program = load_program(source, options.timings)
    runs = compress(program, options)
    write_program(program, args, options.timings)
    if args.mlir_pass_statistics:
        sys.stderr.write(statistics_report(runs))
    if options.timings:
        sys.stderr.write(options.timings.report())
    return 0


def run_split(args: argparse.Namespace, options: Options, source) -> int:
    """`--split-input-file`: each chunk parsed, compressed and printed on its own."""
    from coreai_opt.errors import CoreAIError

    text = read_text_input(source).decode("utf-8", errors="surrogateescape")
    runs: list = []
    outputs: list[bytes] = []
    failures = 0
    for chunk in split_chunks(text):
        try:
            outputs.append(
                process_chunk(chunk.encode("utf-8", "surrogateescape"), source.name, options, runs)
            )
        except CoreAIError as error:
            if args.verify_diagnostics:
                outputs.append(f"{error}\n".encode())
            else:  # like mlir-opt: report every failing chunk, then fail
                sys.stderr.write(f"{error}\n")
                failures += 1
    if failures:
        return 1
    separator = f"\n{SPLIT_MARKER}\n".encode()
    write_output(args.output, separator.join(outputs))
    if args.mlir_pass_statistics:
        sys.stderr.write(statistics_report(runs))
    if options.timings:
        sys.stderr.write(options.timings.report())
    return 0


def run(args: argparse.Namespace) -> int:
    """Do what the arguments ask; CoreAIError propagates to `main`."""
    from coreai_opt.errors import IRError
    from coreai_opt.inputs import open_input
    from coreai_opt.pipeline import Pipeline

    if args.list_passes:
        sys.stdout.write(list_passes())
        return 0
    configure_logging(args.quiet)
    if args.quiet:
        from coreai_opt.progress import set_progress

        set_progress(False)
    Pipeline.parse(args.pass_pipeline)  # report pipeline errors before reading input
    check_destinations(args)
    options = Options(
        pipeline_text=args.pass_pipeline,
        generic=args.print_op_generic,
        verify_each=not args.no_verify,
        debuginfo=args.mlir_print_debuginfo,
        timings=Timings() if args.mlir_timing else None,
        report=args.report,
        output=args.output,
    )
    source = open_input(args.input)
    if source.kind == "bundle" and not is_bundle_like(source.path):
        raise IRError("is a directory, expected a .mlir file or an .aimodel bundle", args.input)
    textual_output = not (args.emit_bytecode or is_bundle_path(args.output))
    if args.split_input_file and source.kind == "text" and textual_output:
        return run_split(args, options, source)
    return run_whole_program(args, options, source)


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so cleanups run as they do for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


STOPPING_SIGNALS = ("SIGTERM", "SIGHUP")


def on_stop_signal(signum: int, frame: object) -> NoReturn:
    """Stop like Ctrl-C does; further signals are ignored so they cannot cut the cleanup."""
    import signal

    for name in (*STOPPING_SIGNALS, "SIGINT"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise Terminated(signum)


def install_stop_handlers() -> dict[int, object]:
    """Route SIGTERM and SIGHUP to `on_stop_signal`; returns the handlers to restore.

    Only signals left at their default are taken (`nohup` keeps SIGHUP ignored), and only
    in the main thread (the only one where Python can handle signals).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, object] = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
    for name in STOPPING_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) == signal.SIG_DFL:
            previous[number] = signal.signal(number, on_stop_signal)
    return previous


def restore_handlers(previous: dict[int, object]) -> None:
    """Put back what `install_stop_handlers` replaced (main() may run inside a test)."""
    import signal

    for number, handler in previous.items():
        if handler is not None:  # None: set outside Python, cannot be restored from here
            signal.signal(number, handler)


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `coreai-opt` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("run", "compare"):  # subcommands (coreai_opt/cli_exec.py)
        from coreai_opt.cli_exec import main as subcommand_main

        return subcommand_main(argv)
    args = build_argument_parser().parse_args(argv)
    if args.version:
        from coreai_opt import __version__

        sys.stdout.write(f"coreai-opt {__version__}\n")
        return 0
    from coreai_opt.errors import CoreAIError

    logger = logging.getLogger("coreai_opt")
    saved_logging = (logger.handlers[:], logger.level)
    saved_handlers = install_stop_handlers()
    try:
        return run(args)
    except CoreAIError as error:
        broken_stdout = error.where == "<stdout>"
        if broken_stdout:
            silence_stdout()
        if args.verify_diagnostics and not broken_stdout:
            sys.stdout.write(f"{error}\n")
            return 0
        sys.stderr.write(f"{error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("coreai-opt: interrupted\n")
        return 130
    except Terminated as stop:
        import signal

        sys.stderr.write(f"coreai-opt: stopped by {signal.Signals(stop.signum).name}\n")
        return 128 + stop.signum
    except BrokenPipeError:  # e.g. `coreai-opt big.aimodel | head`: stop quietly
        silence_stdout()
        return 1
    except MemoryError:
        sys.stderr.write("coreai-opt: error: out of memory\n")
        return 1
    except OSError as error:  # the system refused something not attributed to a file above
        from coreai_opt.errors import os_reason

        where = f"{error.filename}: " if error.filename else "coreai-opt: "
        sys.stderr.write(f"{where}error: {os_reason(error)}\n")
        return 1
    except Exception as error:  # a bug: one line unless COREAI_OPT_DEBUG asks for more
        if os.environ.get("COREAI_OPT_DEBUG"):
            raise
        sys.stderr.write(
            f"coreai-opt: internal error: {type(error).__name__}: {error} "
            "(set COREAI_OPT_DEBUG=1 for a traceback)\n"
        )
        return 1
    finally:
        restore_handlers(saved_handlers)
        logger.handlers[:] = saved_logging[0]
        logger.setLevel(saved_logging[1])
        if args.quiet:
            from coreai_opt.progress import set_progress

            set_progress(None)


if __name__ == "__main__":
    raise SystemExit(main())
