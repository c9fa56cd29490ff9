"""The pass registry, the pipeline text syntax and `Pipeline`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from coreai_opt.dialects.coreai import ConstantOp
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import Float16Type, FunctionType, ModuleOp, TensorType

import coreai_opt.pipeline as pipeline_module
from coreai_opt.errors import IRError, PipelineError
from coreai_opt.pipeline import (
    CoreAIPass,
    PassRun,
    Pipeline,
    format_value,
    get_pass_class,
    load_all_passes,
    option,
    register_pass,
)
from coreai_opt.program import AIProgram

TEXT = """coreai.graph @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %w = coreai.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %dead = coreai.constant dense<[3.0, 4.0]> : tensor<2xf32>
  %y = coreai.add %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  coreai.output %y : tensor<2xf32>
}
"""


@dataclass(frozen=True)
class ProbePass(CoreAIPass):
    """Count constants (a test pass with options of every kind)."""

    name = "test-probe"

    n_bits: int = option(4, "Bits per code", choices=(1, 2, 4, 8))
    ratio: float = option(0.5, "A fraction")
    flag: bool = option(False, "A switch")
    mode: str = option("fast", "A mode", choices=("fast", "slow"))
    pair: tuple[int, int] | None = option(None, "An n:m pair")
    limit: int | None = option(None, "An optional count")

    def run(self, module: ModuleOp, run: PassRun) -> None:
        count = sum(isinstance(op, ConstantOp) for op in module.walk())
        run.count("constants-seen", count, "Constants in the module")


@dataclass(frozen=True)
class BreakIRPass(CoreAIPass):
    """Change the graph's result type without touching its body (invalid IR)."""

    name = "test-break-ir"

    def run(self, module: ModuleOp, run: PassRun) -> None:
        graph = next(iter(module.body.block.ops))
        graph.function_type = FunctionType.from_lists(
            graph.function_type.inputs.data, [TensorType(Float16Type(), [7])]
        )


@dataclass(frozen=True)
class FailingPass(CoreAIPass):
    """Raise ValueError like a numerics routine given bad input."""

    name = "test-failing"

    def run(self, module: ModuleOp, run: PassRun) -> None:
        raise ValueError("weights are NaN")


@pytest.fixture
def test_passes() -> Iterator[None]:
    """Register the test passes for one test only."""
    for cls in (ProbePass, BreakIRPass, FailingPass):
        register_pass(cls)
    yield
    for cls in (ProbePass, BreakIRPass, FailingPass):
        pipeline_module._REGISTRY.pop(cls.name, None)


# --------------------------------------------------------------------------- registry


def test_builtin_passes_are_registered() -> None:
    """The foundation's passes are known by name, sorted."""
    registry = load_all_passes()
    assert {"optimize", "cast-to-fp16", "decompress"} <= set(registry)
    assert list(registry) == sorted(registry)


@pytest.mark.parametrize("spelling", ["cast-to-fp16", "cast_to_fp16"])
def test_pass_names_accept_snake_case(spelling: str) -> None:
    """Kebab and snake spellings name the same pass."""
    assert get_pass_class(spelling).name == "cast-to-fp16"


def test_unknown_pass_lists_the_available_ones() -> None:
    """One line, naming the pass and every choice."""
    with pytest.raises(PipelineError) as info:
        get_pass_class("palettise")
    message = str(info.value)
    assert message.startswith("error: unknown pass 'palettise' (available passes: ")
    assert all(name in message for name in load_all_passes())
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(load_all_passes()))
def test_every_registered_pass_is_documented_and_prints_back(name: str) -> None:
    """A one-line summary, help for each option, and a default instance that round-trips."""
    cls = load_all_passes()[name]
    assert cls.summary()
    assert all(info.help for info in cls.options())
    default = cls()
    assert str(default) == name
    assert Pipeline.parse(str(Pipeline([default]))) == Pipeline([default])


def choice_cases() -> list[tuple[str, str, object]]:
    """(pass, option, choice) for every declared choice of every registered pass."""
    return [
        (name, info.name, choice)
        for name, cls in load_all_passes().items()
        for info in cls.options()
        for choice in info.choices or ()
    ]


@pytest.mark.parametrize(("name", "key", "choice"), choice_cases())
def test_every_declared_choice_parses_and_prints_back(name: str, key: str, choice) -> None:
    """`pass<key=choice>` parses to that value and prints back to an equal pipeline.

    A choice may need other options (e.g. a dtype that needs per-block granularity); such a
    rejection must not claim the value is not a valid choice.
    """
    try:
        pipeline = Pipeline.parse(f"{name}<{key}={format_value(choice)}>")
    except PipelineError as error:
        assert "must be one of" not in str(error)
        return
    (built,) = pipeline.passes
    assert getattr(built, key) == choice
    assert Pipeline.parse(str(pipeline)) == pipeline


# --------------------------------------------------------------------------- syntax


@pytest.mark.usefixtures("test_passes")
@pytest.mark.parametrize(
    "text",
    [
        "test-probe<n_bits=2,ratio=0.25,flag=true,mode=slow>",
        "test-probe{n_bits=2 ratio=0.25 flag=true mode=slow}",
        "test-probe{n-bits=2, ratio=0.25, flag=true, mode=slow}",
        "builtin.module(test-probe<n_bits=2,ratio=0.25,flag=true,mode='slow'>)",
        'test_probe< n_bits = 2 , ratio=2.5e-1, flag=true, mode="slow" >',
    ],
)
def test_spellings_of_one_pass(text: str) -> None:
    """`<>` and `{}` options, kebab keys, quotes, spaces and the anchor all agree."""
    expected = ProbePass(n_bits=2, ratio=0.25, flag=True, mode="slow")
    assert Pipeline.parse(text) == Pipeline([expected])


@pytest.mark.usefixtures("test_passes")
def test_several_passes_and_nested_anchors() -> None:
    """Comma-separated passes keep their order, anchors flatten."""
    pipeline = Pipeline.parse(
        "builtin.module(optimize,builtin.module(test-probe{limit=3})),decompress"
    )
    assert [p.name for p in pipeline.passes] == ["optimize", "test-probe", "decompress"]
    assert pipeline.passes[1] == ProbePass(limit=3)


@pytest.mark.usefixtures("test_passes")
def test_tuple_and_none_options() -> None:
    """`(n,m)` tuples (also `[n:m]`), and `none` for optional options."""
    assert Pipeline.parse("test-probe<pair=(2,4)>").passes[0].pair == (2, 4)
    assert Pipeline.parse("test-probe<pair=[2:4]>").passes[0].pair == (2, 4)
    assert Pipeline.parse("test-probe<pair=none,limit=none>").passes[0] == ProbePass()


@pytest.mark.usefixtures("test_passes")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test-probe<n_bits=four>", "option 'n_bits' expects an integer, got 'four'"),
        ("test-probe<ratio=half>", "option 'ratio' expects a number, got 'half'"),
        ("test-probe<flag=maybe>", "option 'flag' expects a boolean (true/false), got 'maybe'"),
        ("test-probe<flag=yes>", "option 'flag' expects a boolean (true/false), got 'yes'"),
        ("test-probe<flag=1>", "option 'flag' expects a boolean (true/false), got '1'"),
        ("test-probe<flag=on>", "option 'flag' expects a boolean (true/false), got 'on'"),
        ("test-probe<flag=TRUE>", "option 'flag' expects a boolean (true/false), got 'TRUE'"),
        (
            "test-probe<n_bits=2,n-bits=4>",
            "pass 'test-probe': option 'n-bits' is given twice at column 21",
        ),
        ("test-probe<flag=true,flag=true>", "option 'flag' is given twice at column 22"),
        ("test-probe<n_bits=2,>", "expected an option name after ',' at column 21"),
        ("test-probe<n_bits=2,,ratio=0.5>", "expected an option name after ',' at column 21"),
        ("test-probe<,n_bits=2>", "expected an option name at column 12"),
        ("test-probe,", "expected a pass name after ',' at column 12"),
        ("test-probe, ", "expected a pass name after ',' at column 13"),
        ("builtin.module(test-probe,)", "expected a pass name after ',' at column 27"),
        ("test-probe<n_bits=3>", "option 'n_bits' must be one of [1, 2, 4, 8], got '3'"),
        ("test-probe<mode=medium>", "option 'mode' must be one of [fast, slow], got 'medium'"),
        ("test-probe<pair=(1,2,3)>", "option 'pair' expects 2 values like (2,4)"),
        (
            "test-probe<nbits=4>",
            "pass 'test-probe' has no option 'nbits' "
            "(valid options: n_bits, ratio, flag, mode, pair, limit)",
        ),
        ("test-probe<n_bits>", "expected '=' after option 'n_bits'"),
        ("test-probe<n_bits=4", "missing '>'"),
        ("test-probe,,optimize", "expected a pass name at column 12"),
        ("test-probe optimize", "expected ',' between passes at column 12"),
        ("builtin.module(test-probe", "expected ',' or ')'"),
    ],
)
def test_bad_pipelines_are_one_line_errors(text: str, expected: str) -> None:
    """Each error names what is wrong (and the valid choices) in one line."""
    with pytest.raises(PipelineError) as info:
        Pipeline.parse(text)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


# --------------------------------------------------------------------------- str round trip


probe_passes = st.builds(
    ProbePass,
    n_bits=st.sampled_from([1, 2, 4, 8]),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
    flag=st.booleans(),
    mode=st.sampled_from(["fast", "slow"]),
    pair=st.none() | st.tuples(st.integers(-5, 100), st.integers(-5, 100)),
    limit=st.none() | st.integers(-(2**40), 2**40),
)


@settings(max_examples=100, deadline=None)
@given(passes=st.lists(probe_passes, min_size=1, max_size=3))
def test_str_parses_back_to_an_equal_pipeline(passes: list[ProbePass]) -> None:
    """`Pipeline.parse(str(p)) == p` for any option values."""
    register_pass(ProbePass)
    try:
        pipeline = Pipeline([*passes, get_pass_class("optimize")()])
        assert Pipeline.parse(str(pipeline)) == pipeline
    finally:
        pipeline_module._REGISTRY.pop(ProbePass.name, None)


@pytest.mark.usefixtures("test_passes")
def test_str_prints_only_non_default_options() -> None:
    """Defaults are left out; a pass with only defaults prints its bare name."""
    assert str(Pipeline([ProbePass()])) == "test-probe"
    assert str(Pipeline([ProbePass(n_bits=2, flag=True)])) == "test-probe<n_bits=2,flag=true>"
    assert str(Pipeline([ProbePass(pair=(2, 4))])) == "test-probe<pair=(2,4)>"


def test_equality_composition_and_repr() -> None:
    """Equal passes make equal pipelines; `|` and `then` append."""
    optimize = get_pass_class("optimize")()
    decompress = get_pass_class("decompress")()
    assert Pipeline("optimize,decompress") == Pipeline([optimize, decompress])
    assert Pipeline("optimize,decompress") != Pipeline("decompress,optimize")
    assert Pipeline("optimize") != "optimize"
    assert Pipeline("optimize") | decompress == Pipeline("optimize,decompress")
    assert Pipeline("optimize") | Pipeline("decompress") == Pipeline("optimize,decompress")
    assert Pipeline("optimize").then(decompress, optimize) == Pipeline(
        "optimize,decompress,optimize"
    )
    assert repr(Pipeline("optimize,decompress")) == "Pipeline('optimize,decompress')"
    assert str(Pipeline("")) == ""


# --------------------------------------------------------------------------- running


@pytest.mark.usefixtures("test_passes")
def test_run_records_statistics_per_pass() -> None:
    """`runs` holds one PassRun per pass, in order, with its counters."""
    program = AIProgram.parse(TEXT)
    done: list[str] = []
    pipeline = Pipeline("test-probe,optimize,test-probe")
    assert pipeline.run(program, on_pass_done=lambda run: done.append(run.pass_name)) is program
    assert done == ["test-probe", "optimize", "test-probe"]
    assert [run.statistics.get("constants-seen") for run in pipeline.runs] == [2, None, 1]
    assert pipeline.runs[0].descriptions["constants-seen"] == "Constants in the module"
    assert all(run.seconds >= 0 for run in pipeline.runs)


@pytest.mark.usefixtures("test_passes")
def test_run_accepts_a_bare_module() -> None:
    """A ModuleOp works as well as an AIProgram."""
    module = AIProgram.parse(TEXT).module
    Pipeline("optimize").run(module)
    assert sum(isinstance(op, ConstantOp) for op in module.walk()) == 1


@pytest.mark.usefixtures("test_passes")
def test_invalid_ir_after_a_pass_is_reported() -> None:
    """The verifiers run after each pass unless `verify_each=False`."""
    with pytest.raises(IRError, match=r"'coreai\.output' op output types"):
        Pipeline("test-break-ir").run(AIProgram.parse(TEXT))
    Pipeline("test-break-ir").run(AIProgram.parse(TEXT), verify_each=False)


@pytest.mark.usefixtures("test_passes")
def test_value_errors_in_a_pass_become_pipeline_errors() -> None:
    """One line naming the pass."""
    with pytest.raises(PipelineError) as info:
        Pipeline("optimize,test-failing").run(AIProgram.parse(TEXT))
    assert str(info.value) == "error: pass 'test-failing' failed: weights are NaN"


@pytest.mark.usefixtures("test_passes")
def test_xdsl_style_apply() -> None:
    """`apply(ctx, op)` runs the pass like an xDSL ModulePass."""
    module = AIProgram.parse(TEXT).module
    get_pass_class("optimize")().apply(None, module)
    assert sum(isinstance(op, ConstantOp) for op in module.walk()) == 1


def test_pass_objects_are_immutable_values() -> None:
    """Frozen dataclasses: hashable, comparable, not modifiable."""
    optimize = get_pass_class("optimize")()
    assert optimize == get_pass_class("optimize")()
    assert hash(optimize) == hash(get_pass_class("optimize")())
    with pytest.raises(AttributeError):
        optimize.name = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------- xDSL's parser


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("optimize", "optimize"),
        (
            "builtin.module(sparsify<target_sparsity=0.5,n_m_ratio=none>,palettize{n-bits=4})",
            'sparsify{target_sparsity="0.5" n_m_ratio},palettize{n-bits="4"}',
        ),
        ("sparsify<n_m_ratio=[2:4]>", 'sparsify{n_m_ratio="[2:4]"}'),
        ("quantize<include='a\"b'>", 'quantize{include="a\\"b"}'),
        ("quantize<include=^w\\.[0-3]$>", 'quantize{include="^w\\\\.[0-3]$"}'),
        ("cast_to_fp16", "cast-to-fp16"),
    ],
)
def test_our_syntax_becomes_an_xdsl_spec(text: str, spec: str) -> None:
    """What xDSL's `parse_pipeline` is given: `{}` options, quoted values, bare `none`."""
    from coreai_opt.pipeline_syntax import to_xdsl_spec

    assert to_xdsl_spec(text, lambda name: get_pass_class(name).name) == spec


@pytest.mark.parametrize(
    ("text", "include"),
    [
        ("quantize<include=^layers\\.[0-3]\\.(q|k)_proj$>", "^layers\\.[0-3]\\.(q|k)_proj$"),
        ("quantize<include=[abc]>", "[abc]"),
        ("quantize<include='a,b c'>", "a,b c"),
        ('quantize<include="a\\"b\\\\\\d">', 'a"b\\\\d'),
        ('quantize<include="none">', "none"),
        ("quantize<include=none>", None),
    ],
)
def test_regular_expressions_as_values(text: str, include: str | None) -> None:
    """Bare values are taken literally; in quotes, `\\"` and `\\\\` are escapes."""
    (built,) = Pipeline.parse(text).passes
    assert built.include == include
    assert Pipeline.parse(str(Pipeline([built]))) == Pipeline([built])


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\f\v"),
        max_size=12,
    )
)
def test_any_regular_expression_prints_back(text: str) -> None:
    """`str(pipeline)` quotes and escapes what it must: any pattern parses back equal."""
    import re

    pipeline = Pipeline([get_pass_class("quantize")(include=re.escape(text) or None)])
    assert Pipeline.parse(str(pipeline)) == pipeline


def test_characters_xdsl_strings_cannot_hold_are_one_line_errors() -> None:
    """A carriage return in a value: a PipelineError, not a parser traceback."""
    with pytest.raises(PipelineError, match="cannot hold"):
        Pipeline.parse("quantize<include='a\rb'>")


def test_a_pass_name_xdsl_cannot_spell_is_a_one_line_error() -> None:
    """xDSL's parser refuses `.` in pass names: the failure is one PipelineError line."""

    @dataclass(frozen=True)
    class DottedPass(ProbePass):
        """A pass whose name has a dot."""

        name = "test.dotted"

    register_pass(DottedPass)
    try:
        with pytest.raises(PipelineError) as info:
            Pipeline.parse("test.dotted")
        assert "xDSL cannot parse" in str(info.value) and "\n" not in str(info.value)
    finally:
        pipeline_module._REGISTRY.pop(DottedPass.name, None)
