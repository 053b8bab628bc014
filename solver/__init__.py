"""Benchmark harness and independent optimality oracle for the planner (see README.md)."""
