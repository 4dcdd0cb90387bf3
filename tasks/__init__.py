"""Prefect tasks: thin, verb-named wrappers that call `bilstm` and log to MLflow. No math here."""
