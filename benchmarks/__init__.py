"""Benchmarks of a node (not timed tests): ``python -m benchmarks`` runs them all and
writes docs/benchmarks.md with the figures, the machine and the command."""
