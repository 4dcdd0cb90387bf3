"""bilstm: the core of bilstm-pipeline — data, scaling, windows, the Bi-LSTM, training, metrics, the
forecaster (the product a run registers).

Imports torch, numpy, pandas, scikit-learn, matplotlib, pydantic and PyYAML; orchestration (Prefect) and
tracking (MLflow) live in the `tasks`, `tracking` and `flows` packages, and the command line on top of them
in `deployments` (it imports them lazily).
"""

__version__ = "0.1.0"
