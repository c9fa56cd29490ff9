"""IR infrastructure: weight storage, parsing and printing helpers."""
