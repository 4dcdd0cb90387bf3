"""Bad-input catalogue (`tests/bad_input_cases.py`, the cases `tests/test_bad_inputs.py` asserts): each case
runs the real `bilstm` command in one working directory that already holds a registered champion, and the
table shows the exit code, the first line of the error (or, for unsorted rows, of the warning) and whether
the registry (versions and aliases) is unchanged afterwards.

    python bench/bad_inputs.py        # about 2 minutes on 2 cores: each forecast case starts Prefect afresh
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

# the catalogue lives with the tests; a script run as `python bench/...` sees only bench/ on its path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.bad_input_cases import CASES  # noqa: E402
from tests.bad_input_files import (  # noqa: E402
    error_lines,
    register_monitor_models,
    registry,
    setup_argv,
    warning_lines,
    write_files,
)
from tests.helpers import BILSTM  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(folder)
        env = dict(os.environ, PREFECT_HOME=str(folder / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        tracking = env["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
        run = subprocess.run([BILSTM, *setup_argv(folder)], cwd=folder, env=env, capture_output=True)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        client = MlflowClient(tracking, registry_uri=tracking)
        assert any("champion" in dict(aliases) for _, aliases, _ in registry(client)), (
            "the setup run was not promoted"
        )
        register_monitor_models(client)
        rows = []
        for case in CASES:
            before = registry(client)
            started = time.perf_counter()
            result = subprocess.run(
                [BILSTM, *case.argv(folder)], cwd=folder, env=env, capture_output=True, text=True
            )
            seconds = time.perf_counter() - started
            lines = warning_lines(result.stderr) if case.warns else error_lines(result.stderr)
            message = lines[0] if lines else "(no error line)"
            unchanged = "yes" if registry(client) == before else "NO"
            rows.append((case, result.returncode, seconds, message, unchanged))
    print(f"{'input':<34} {'exit':>4} {'s':>5}  {'registry unchanged':<18}  message")
    for case, code, seconds, message, unchanged in rows:
        print(f"{case.name:<34} {code:>4} {seconds:>5.1f}  {unchanged:<18}  {message[:150]}")
    clear = sum(
        1
        for case, code, _, message, unchanged in rows
        if code == case.exit_code and unchanged == "yes" and message != "(no error line)"
    )
    print(f"\n{clear} of {len(rows)} cases as documented: exit 2 and one error line (unsorted rows: sorted")
    print("with a warning), registry unchanged")


if __name__ == "__main__":
    main()
