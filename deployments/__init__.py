"""Deployments and the processes that run them: `prefect.yaml` (the work-pool route), `serve` (serves its
deployments), `dashboard` (the `bilstm dashboard` supervisor of the Prefect and MLflow servers and `serve`)
and `processes` (ports, health waits, /proc, process-group stops, shared with the tests)."""
