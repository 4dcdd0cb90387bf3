"""bilstm: the core of bilstm-pipeline — data, scaling, windows, the Bi-LSTM, training, metrics, the
forecaster (the product a run registers), and the command line.

Imports torch, numpy, pandas, scikit-learn, matplotlib, pydantic, PyYAML and typer; orchestration (Prefect)
and tracking (MLflow) live in the `tasks`, `tracking` and `flows` packages (the CLI imports them lazily).
"""

__version__ = "0.1.0"
