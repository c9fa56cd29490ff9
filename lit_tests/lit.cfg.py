"""lit configuration: IR regression tests run through the installed `coreai-opt` and `filecheck`."""

import os
import shutil
import tempfile

import lit.formats

config.name = "coreai-opt"  # noqa: F821 - `config` is provided by lit
config.test_format = lit.formats.ShTest(execute_external=False)  # noqa: F821
config.suffixes = [".mlir"]  # noqa: F821
config.test_source_root = os.path.dirname(__file__)  # noqa: F821
# Keep lit's Output/ folders out of the source tree.
config.test_exec_root = os.path.join(tempfile.gettempdir(), "coreai-opt-lit")  # noqa: F821
config.excludes = ["Inputs"]  # noqa: F821

for variable in ("PATH", "HOME"):
    if variable in os.environ:
        config.environment[variable] = os.environ[variable]  # noqa: F821

# Real MLIR checks that our generic form is MLIR (CI installs Debian's mlir-22-tools).
if shutil.which("mlir-opt-22") is not None:
    config.available_features.add("mlir-opt")  # noqa: F821
