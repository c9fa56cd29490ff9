"""`coreai-opt run` and `coreai-opt compare`: execute programs with the reference executor.

coreai-opt run model.mlir --inputs in.npz -o out.npz
coreai-opt run model.aimodel --random-inputs 2 --seed 7 --dim 8
coreai-opt compare model.mlir model_int4.aimodel --random-inputs 4 [--json]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

SUBCOMMANDS = ("run", "compare")
SAMPLE_KEY = re.compile(r"^(?P<name>.+)/(?P<index>\d+)$")


class SubcommandParser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line and exits with 1."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(1)


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options choosing the inputs (shared by run and compare)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--inputs",
        metavar="FILE.npz",
        help="inputs by argument name (keys NAME/0, NAME/1, ... for several samples)",
    )
    source.add_argument(
        "--random-inputs",
        type=int,
        metavar="N",
        help="N seeded random input samples from the signature (the default: 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument(
        "--dim",
        action="append",
        default=[],
        metavar="[NAME[:AXIS]=]SIZE",
        help="size of dynamic dims of random inputs: all (SIZE), input NAME's, or one axis "
        "(default 4; repeatable)",
    )
    parser.add_argument("--graph", default="main", help="graph to run (default: main)")


def build_run_parser() -> argparse.ArgumentParser:
    """`coreai-opt run`."""
    parser = SubcommandParser(
        prog="coreai-opt run",
        description="Run a Core AI program with the numpy reference executor.",
    )
    parser.add_argument("model", help=".mlir, .mlirb or .aimodel")
    add_input_options(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE.npz",
        help="write the outputs (NAME, or NAME/i per sample); default: print a summary",
    )
    parser.add_argument(
        "--state", metavar="FILE.npz", help="initial contents of handles (by argument name)"
    )
    parser.add_argument(
        "--save-state", metavar="FILE.npz", help="write the handles' final contents"
    )
    parser.add_argument("--save-inputs", metavar="FILE.npz", help="write the inputs used")
    return parser


def build_compare_parser() -> argparse.ArgumentParser:
    """`coreai-opt compare`."""
    parser = SubcommandParser(
        prog="coreai-opt compare",
        description="Run two programs on the same inputs; per output SNR, cosine similarity "
        "and max abs error of the second against the first.",
    )
    parser.add_argument("original", help="reference program (.mlir, .mlirb or .aimodel)")
    parser.add_argument("compressed", help="program to check against it")
    add_input_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def load_npz(path: str, what: str) -> dict[str, Any]:
    """Arrays of an .npz file, or a one-line error naming the option."""
    import zipfile

    import numpy as np

    from coreai_opt.interpreter import InterpreterError

    if not os.path.isfile(path):
        raise InterpreterError(f"{what}: no such file", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise InterpreterError(f"{what}: not a readable .npz file ({error})", path) from None


def split_samples(arrays: dict[str, Any]) -> list[dict[str, Any]]:
    """`{"x/0": a, "x/1": b}` -> two samples; plain keys make one sample."""
    from coreai_opt.interpreter import InterpreterError

    indexed = {key: SAMPLE_KEY.match(key) for key in arrays}
    if not any(indexed.values()):
        return [arrays]
    if not all(indexed.values()):
        raise InterpreterError("--inputs mixes NAME and NAME/i keys")
    count = 1 + max(int(m.group("index")) for m in indexed.values() if m)
    samples: list[dict[str, Any]] = [{} for _ in range(count)]
    for key, match in indexed.items():
        samples[int(match.group("index"))][match.group("name")] = arrays[key]
    return samples


def input_samples(args: argparse.Namespace, program: Any) -> list[dict[str, Any]]:
    """The input samples the options ask for."""
    from coreai_opt.interpreter import InterpreterError, random_inputs
    from coreai_opt.interpreter.inputs import parse_dims

    dims = parse_dims(args.dim)
    if args.inputs:
        return split_samples(load_npz(args.inputs, "--inputs"))
    count = 1 if args.random_inputs is None else args.random_inputs
    if count < 1:
        raise InterpreterError(f"--random-inputs must be at least 1, got {count}")
    return [random_inputs(program, args.graph, args.seed + i, dims) for i in range(count)]


def sample_keys(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """One sample as plain names; several as NAME/i."""
    if len(samples) == 1:
        return dict(samples[0])
    return {
        f"{name}/{i}": value for i, sample in enumerate(samples) for name, value in sample.items()
    }


def save_npz(path: str, arrays: dict[str, Any]) -> None:
    """Write an .npz atomically (nothing is left behind on error)."""
    from pathlib import Path

    import numpy as np

    from coreai_opt.atomic import write_atomically

    write_atomically(Path(path), lambda stream: np.savez(stream, **arrays))


def summary(samples: list[dict[str, Any]]) -> str:
    """One line per output: name, shape, dtype, mean, std, min, max (first sample)."""
    import numpy as np

    lines = []
    for index, outputs in enumerate(samples):
        prefix = f"[{index}] " if len(samples) > 1 else ""
        for name, value in outputs.items():
            array = np.asarray(value)
            shape = "x".join(map(str, array.shape)) or "scalar"
            if array.size and array.dtype.kind in "fiub":
                data = array.astype(np.float64)
                stats = (
                    f"mean {data.mean():.6g}  std {data.std():.6g}  "
                    f"min {data.min():.6g}  max {data.max():.6g}"
                )
            else:
                stats = f"{array.size} values"
            lines.append(f"{prefix}{name}  {shape}  {array.dtype}  {stats}")
    return "\n".join(lines) + "\n"


def run_command(argv: Sequence[str]) -> int:
    """`coreai-opt run`."""
    from coreai_opt.interpreter import Interpreter
    from coreai_opt.program import AIProgram

    args = build_run_parser().parse_args(argv)
    program = AIProgram.load(args.model)
    samples = input_samples(args, program)
    state = load_npz(args.state, "--state") if args.state else {}
    outputs = []
    for sample in samples:
        outputs.append(Interpreter(program, state).run(sample, args.graph))
    if args.save_inputs:
        save_npz(args.save_inputs, sample_keys(samples))
    if args.save_state:
        save_npz(args.save_state, state)
    if args.output:
        save_npz(args.output, sample_keys(outputs))
    else:
        sys.stdout.write(summary(outputs))
    return 0


def compare_command(argv: Sequence[str]) -> int:
    """`coreai-opt compare`."""
    from coreai_opt.interpreter import compare
    from coreai_opt.program import AIProgram

    args = build_compare_parser().parse_args(argv)
    original = AIProgram.load(args.original)
    compressed = AIProgram.load(args.compressed)
    samples = input_samples(args, original)
    result = compare(original, compressed, samples, graph=args.graph)
    sys.stdout.write(result.to_json() + "\n" if args.json else result.table())
    return 0


def main(argv: Sequence[str]) -> int:
    """Dispatch `run` / `compare`; errors are one line on stderr and exit code 1."""
    from coreai_opt.errors import CoreAIError

    command, rest = argv[0], list(argv[1:])
    try:
        return run_command(rest) if command == "run" else compare_command(rest)
    except CoreAIError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("coreai-opt: interrupted\n")
        return 130
    except MemoryError:
        sys.stderr.write("coreai-opt: error: out of memory\n")
        return 1
    except Exception as error:  # a bug: one line unless COREAI_OPT_DEBUG asks for more
        if os.environ.get("COREAI_OPT_DEBUG"):
            raise
        sys.stderr.write(
            f"coreai-opt {command}: internal error: {type(error).__name__}: {error} "
            "(set COREAI_OPT_DEBUG=1 for a traceback)\n"
        )
        return 1
