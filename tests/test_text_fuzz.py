"""Fuzzing the text parser with mutated valid programs (beside tests/test_bytecode_fuzz.py).

Seeds are every program of lit_tests/ and examples/ (split at `// -----`) and a small
seeded synthetic model. Whatever the damage (flipped or stray bytes, truncation, duplicated
or deleted tokens, huge numbers, deep nesting, non-UTF-8), parsing either succeeds or
raises one located `IRError`; verifying raises at most an `IRError`; printing works. It
never shows a traceback, hangs (an alarm per example) or allocates much (tracemalloc).
"""

from __future__ import annotations

import re
import signal
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coreai_opt.errors import IRError
from coreai_opt.ir.text import (
    LINEAR_STRING_LITERAL,
    module_to_string,
    parse_stream,
    verify_module,
)
from coreai_opt.synthetic import Layer, write_module

REPO = Path(__file__).resolve().parent.parent
PEAK_LIMIT = 64 << 20
HANG_SECONDS = 20
LOCATED = re.compile(r"^[^\n]+:\d+:\d+: error: [^\n]+$")
TOKEN = re.compile(rb"%[\w.$-]+|@[\w.$-]+|[\w.$-]+|\"[^\"\n]*\"|[^\s\w]")
HUGE = [
    b"99999999999999999999999999",
    b"-9223372036854775809",
    b"0x" + b"F" * 40,
    b"1" * 5000,
    b"1.0e99999",
    b"18446744073709551616",
    b"4294967296",
]
NESTING = [b"[" * 300, b"(" * 300, b"{" * 300, b"tuple<" * 300, b'"t.a"() ({\n' * 100]


def split_programs(path: Path) -> list[bytes]:
    """The chunks of a lit test (or the whole file)."""
    return [chunk.encode() for chunk in path.read_text().split("// -----") if chunk.strip()]


def synthetic_seed() -> bytes:
    """A small seeded model with resources (written once, kept in memory)."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "seed.mlir"
        write_module(path, [Layer("w0", (4, 8)), Layer("w1", (8, 4))], seed=11)
        return path.read_bytes()


def all_seeds() -> list[bytes]:
    """Every lit and example program, and the synthetic one."""
    chunks = {
        chunk
        for pattern in ("lit_tests/**/*.mlir", "examples/*.mlir")
        for path in sorted(REPO.glob(pattern))
        for chunk in split_programs(path)
    }
    return [*sorted(chunks), synthetic_seed()]


SEEDS = all_seeds()


@st.composite
def mutated(draw) -> bytes:
    """A seed damaged in one to four ways."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not data:
            break
        kind = draw(
            st.sampled_from(
                ["flip", "byte", "truncate", "insert", "dup-token", "del-token", "huge", "nest"]
            )
        )
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif kind == "byte":
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind in ("dup-token", "del-token"):
            tokens = list(TOKEN.finditer(bytes(data)))
            if not tokens:
                continue
            token = tokens[draw(st.integers(min_value=0, max_value=len(tokens) - 1))]
            replacement = token.group() * 2 if kind == "dup-token" else b""
            data[token.start() : token.end()] = replacement
        elif kind == "huge":
            numbers = list(re.finditer(rb"\b\d+\b", bytes(data)))
            if numbers:
                number = numbers[draw(st.integers(min_value=0, max_value=len(numbers) - 1))]
                data[number.start() : number.end()] = draw(st.sampled_from(HUGE))
        else:
            data[position:position] = draw(st.sampled_from(NESTING))
    return bytes(data)


@contextmanager
def alarm(seconds: int) -> Iterator[None]:
    """Fail an example that runs for `seconds` (a hang, which a deadline cannot stop)."""

    def hang(signum, frame) -> None:
        raise AssertionError(f"parsing hung for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def parse_verify_print(data: bytes) -> None:
    """Only our one-line errors may escape; a program that parses also verifies and prints,
    or fails verification with one located line."""
    try:
        module, metadata = parse_stream(BytesIO(data), "fuzz.mlir")
    except IRError as error:
        assert LOCATED.match(str(error)), str(error)
        return
    try:
        verify_module(module)
    except IRError as error:
        assert "\n" not in str(error), str(error)
        return
    module_to_string(module, metadata)


@settings(
    max_examples=120,
    deadline=None,  # the alarm bounds each example; timing assertions have no place here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_mutated_programs_fail_cleanly(data: bytes) -> None:
    """Any damage: a clean result or one located error, in bounded memory and time."""
    tracemalloc.start()
    try:
        with alarm(HANG_SECONDS):
            parse_verify_print(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT


def test_every_seed_parses() -> None:
    """The seeds are valid where they are meant to be (the error tests' chunks aside)."""
    assert len(SEEDS) > 40
    for seed in SEEDS:
        parse_verify_print(seed)


XDSL_STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]+|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"')
"""xDSL 0.74's own pattern (exponential on failure), to check ours against."""


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab"\\ntF0\n\x0b\x0cé ', max_size=14))
def test_the_linear_string_pattern_matches_what_xdsl_matches(body: str) -> None:
    """Same language as xDSL's string-literal pattern (short inputs: xDSL's is fast there)."""
    text = '"' + body
    ours, theirs = LINEAR_STRING_LITERAL.match(text), XDSL_STRING_LITERAL.match(text)
    assert (ours and ours.group()) == (theirs and theirs.group())


@pytest.mark.parametrize("tail", ["", "\\q", "\n"], ids=["unterminated", "bad-escape", "newline"])
def test_a_long_broken_string_is_a_prompt_error(tail: str) -> None:
    """One missing quote used to make xDSL's lexer backtrack for minutes."""
    text = '"t.a"() {v = "' + "x" * 5000 + tail + "} : () -> ()\n"
    with alarm(HANG_SECONDS), pytest.raises(IRError) as info:
        parse_stream(BytesIO(text.encode()), "string.mlir")
    assert str(info.value).startswith("string.mlir:1:14: error: ")
