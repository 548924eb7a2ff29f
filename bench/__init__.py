"""Micro-benchmarks for hot paths (run as scripts: python -m bench.<name>)."""
