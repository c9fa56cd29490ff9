"""Real Core AI programs (../shared/corpus/real-ir, or $COREAI_REAL_IR): every one parses,
prints in its own syntax, re-parses to identical text, survives MLIR bytecode in this
process and in a fresh one, and real MLIR accepts its generic form and its bytecode."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from coreai_opt.dialects.asm import update_asm

from coreai_opt import AIProgram
from coreai_opt.bytecode import bytecode_bytes, read_bytecode_bytes
from coreai_opt.ir.text import module_to_string

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("COREAI_REAL_IR", REPO.parent / "shared" / "corpus" / "real-ir"))
MLIR_OPT = shutil.which("mlir-opt-22")
SPLIT = re.compile(r"(?m)^// -----.*$")


def corpus_programs() -> list[tuple[str, str]]:
    """(`file#chunk`, text) of every program in the corpus."""
    if not CORPUS.is_dir():
        return []
    programs = []
    for path in sorted(CORPUS.glob("*.mlir")):
        for index, text in enumerate(SPLIT.split(path.read_text())):
            if "coreai." in text:
                programs.append((f"{path.name}#{index}", text))
    return programs


PROGRAMS = corpus_programs()
needs_corpus = pytest.mark.skipif(not PROGRAMS, reason=f"no real-IR corpus at {CORPUS}")
needs_mlir = pytest.mark.skipif(MLIR_OPT is None, reason="mlir-opt-22 not installed")


def without_names(program: AIProgram) -> str:
    """The program's text with SSA names dropped (MLIR bytecode keeps none)."""
    module = program.module.clone()
    for op in module.walk():
        update_asm(op, separate_results=None, paren_results=None)
        for result in op.results:
            result.name_hint = None
        for region in op.regions:
            for block in region.blocks:
                for arg in block.args:
                    arg.name_hint = None
    return module_to_string(module, program.metadata)


@needs_corpus
@pytest.mark.parametrize(("name", "text"), PROGRAMS, ids=[name for name, _ in PROGRAMS])
def test_parses_and_prints_stably(name: str, text: str) -> None:
    """Parse, print, re-parse: the second print is the first."""
    once = str(AIProgram.parse(text, name))
    assert str(AIProgram.parse(once, name)) == once


@needs_corpus
def test_custom_forms_are_kept() -> None:
    """Every line of a Core AI op keeps its form: keywords, `to`, bare types, enums."""
    for name, text in PROGRAMS:
        printed = str(AIProgram.parse(text, name))
        text = re.sub(r"(?m)//.*$", "", text)
        for pattern in (r" at %", r" along %", r" with %", r"\) to tensor", r"mode = <"):
            assert len(re.findall(pattern, printed)) == len(re.findall(pattern, text)), (
                name,
                pattern,
            )
        bare_unary = re.compile(r"= coreai\.\w+ %[\w#]+ : tensor<[^>]*> -> ")
        assert len(bare_unary.findall(printed)) == len(bare_unary.findall(text)), name


@needs_corpus
def test_bytecode_round_trip_in_process() -> None:
    """text → bytecode → text gives the same text (names aside)."""
    for name, text in PROGRAMS:
        program = AIProgram.parse(text, name)
        module, metadata = read_bytecode_bytes(bytecode_bytes(program.module, program.metadata))
        assert without_names(AIProgram(module, metadata)) == without_names(program), name


@needs_corpus
def test_bytecode_round_trip_in_a_fresh_process(tmp_path: Path) -> None:
    """Bytecode read by a process that never saw the text prints the same text (names
    aside): the forms come from Apple's printer table, not from memory of the text."""
    expected = []
    for name, text in PROGRAMS:
        program = AIProgram.parse(text, name)
        data = bytecode_bytes(program.module, program.metadata)
        expected.append((name, without_names(program), data))
    dump = tmp_path / "programs.pickle"
    dump.write_bytes(pickle.dumps(expected))
    script = (
        "import pickle, sys\n"
        "from coreai_opt import AIProgram\n"
        "from coreai_opt.bytecode import read_bytecode_bytes\n"
        "from tests.test_real_ir import without_names\n"
        "bad = []\n"
        "for name, text, data in pickle.load(open(sys.argv[1], 'rb')):\n"
        "    module, metadata = read_bytecode_bytes(data)\n"
        "    if without_names(AIProgram(module, metadata)) != text:\n"
        "        bad.append(name)\n"
        "print(' '.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(dump)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert result.stdout.strip() == ""


@needs_corpus
@needs_mlir
def test_real_mlir_reads_generic_form_and_bytecode() -> None:
    """mlir-opt-22 --allow-unregistered-dialect accepts what we write, both ways."""
    for name, text in PROGRAMS:
        program = AIProgram.parse(text, name)
        for data in (
            program.to_text(generic=True).encode(),
            bytecode_bytes(program.module, program.metadata),
        ):
            result = subprocess.run(
                [MLIR_OPT, "--allow-unregistered-dialect", "-"],
                input=data,
                capture_output=True,
                check=False,
            )
            assert result.returncode == 0, (name, result.stderr.decode()[:500])


@needs_corpus
def test_generic_form_reads_back() -> None:
    """Our generic form parses back to the same program."""
    for name, text in PROGRAMS:
        program = AIProgram.parse(text, name)
        again = AIProgram.parse(program.to_text(generic=True), name)
        assert without_names(again) == without_names(program), name


@needs_corpus
def test_bundle_round_trip(tmp_path: Path) -> None:
    """text → .aimodel → text gives the same text (names aside)."""
    for index, (name, text) in enumerate(PROGRAMS):
        program = AIProgram.parse(text, name)
        bundle = tmp_path / f"p{index}.aimodel"
        program.save_asset(bundle)
        assert without_names(AIProgram.load(bundle)) == without_names(program), name


@needs_corpus
def test_locations_print_and_read_back() -> None:
    """With debug info every location read is printed, and the print reads back to itself."""
    for name, text in PROGRAMS:
        printed = AIProgram.parse(text, name).to_text(debuginfo=True)
        assert AIProgram.parse(printed, name).to_text(debuginfo=True) == printed, name
        if "loc(" in re.sub(r"(?m)//.*$", "", text):
            assert "loc(" in printed, name


@needs_corpus
def test_every_program_runs_or_names_what_it_cannot_run() -> None:
    """The executor runs each program on seeded inputs, or stops with one located line."""
    from coreai_opt.errors import CoreAIError
    from coreai_opt.interpreter import Interpreter, random_inputs

    for name, text in PROGRAMS:
        program = AIProgram.parse(text, name)
        graph = "main" if "@main" in text else re.search(r"coreai\.graph [\w ]*@([\w.]+)", text)[1]
        try:
            Interpreter(program).run(random_inputs(program, graph), graph)
        except CoreAIError as error:
            message = str(error)
            assert re.match(rf"{re.escape(name)}:\d+:\d+: error: ", message), message
            assert "\n" not in message, message
