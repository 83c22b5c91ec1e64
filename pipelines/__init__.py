"""Pipelines: batch generation of Parquet QA datasets (local or Ray), deterministic for a
given seed whatever the number of workers. Filled in by the pipeline issue."""
