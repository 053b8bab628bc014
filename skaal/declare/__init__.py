"""Stage 1 of the pipeline: decorators and constructors that only record."""
