"""Benchmarks: each module runs with one command and writes its section of results.md."""
