"""The top layer: the `bilstm` command (`cli`, its shared options `cli_options`, its input checks `preflight`,
and `process`, `malloc_tuning` and `fast_exit`: how it starts and ends), the deployments and the processes
that run them: `prefect.yaml` (the work-pool route), `serve` (serves its deployments), `dashboard` (the
`bilstm dashboard` supervisor of the Prefect and MLflow servers and `serve`), `temporary_api` (the temporary
Prefect server of a `bilstm train` or `forecast` command, with `server_guard` ending it with the command)
and `processes` (ports, health waits, /proc, process-group stops, shared with the tests)."""
