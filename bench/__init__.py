"""Benchmarks of gla against the published PyTorch method (needs the ``bench`` extra)."""
