"""Compression and cleanup passes."""
