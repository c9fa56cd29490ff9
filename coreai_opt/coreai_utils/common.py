"""The compression enums where Apple's `coreai_opt.coreai_utils.common` has them, so that
`from coreai_opt.coreai_utils.common import QScheme` runs unchanged."""

from __future__ import annotations

from coreai_opt.options import CompressionGranularity, DType, QScheme

__all__ = ["CompressionGranularity", "DType", "QScheme"]
