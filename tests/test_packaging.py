"""The distribution ships every package, and dialects/passes live under coreai_opt only."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def declared_packages() -> set[str]:
    """Packages listed in pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def test_every_source_package_is_declared():
    mapping = {
        "coreai_opt": ROOT / "coreai_opt",
        "coreai_opt.dialects": ROOT / "dialects",
        "coreai_opt.passes": ROOT / "passes",
    }
    found = set()
    for prefix, directory in mapping.items():
        for init in directory.rglob("__init__.py"):
            relative = init.parent.relative_to(directory).parts
            found.add(".".join((prefix, *relative)))
    assert found == declared_packages()


def test_dialects_and_passes_are_not_top_level_names(tmp_path):
    # Run outside the checkout, so only the installed distribution is visible.
    code = (
        "import importlib.util as u; "
        "assert u.find_spec('coreai_opt.passes.quantize'); "
        "assert u.find_spec('coreai_opt.dialects.coreai'); "
        "assert u.find_spec('passes') is None and u.find_spec('dialects') is None"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)


def test_apple_module_layout_imports():
    """`coreai_opt.coreai_utils.common` holds the enums, as in Apple's package."""
    from coreai_opt import coreai_utils
    from coreai_opt.coreai_utils import common
    from coreai_opt.coreai_utils.common import CompressionGranularity, DType, QScheme

    assert set(common.__all__) == {"CompressionGranularity", "DType", "QScheme"}
    assert (DType, QScheme, CompressionGranularity) == (
        coreai_utils.DType,
        coreai_utils.QScheme,
        coreai_utils.CompressionGranularity,
    )
    assert QScheme("asymmetric") is QScheme.ASYMMETRIC
