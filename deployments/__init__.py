"""Deployments: `prefect.yaml` (the work-pool route) and `serve` (what `bilstm dashboard` runs)."""
