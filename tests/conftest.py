"""Shared pytest configuration: tests mirror the pipeline stages, one folder each."""
