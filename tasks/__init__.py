"""Prefect tasks: thin, verb-named wrappers that call `bilstm` and `tracking` and log to MLflow; no math."""
