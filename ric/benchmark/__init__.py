"""Benchmarking generators: reference sets, the metric suite, baselines and reports."""
