"""Prefect flows: compose the tasks into recipes (train now; forecast and retrain build on it)."""
