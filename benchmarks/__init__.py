"""Benchmark suite: problems x engines, side by side in one run (python -m benchmarks.run --suite quick|full)."""
