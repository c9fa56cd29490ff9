"""The coreai dialect in xDSL."""
