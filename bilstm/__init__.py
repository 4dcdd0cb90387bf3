"""bilstm: the core of bilstm-pipeline — data, scaling, windows, the Bi-LSTM, training, metrics, bundle.

Imports torch, numpy, pandas, scikit-learn and pydantic only; orchestration (Prefect) and tracking (MLflow)
live in the `tasks` and `flows` packages.
"""

__version__ = "0.1.0"
