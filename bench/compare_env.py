"""A virtual environment of its own for the libraries the benchmarks compare against (Darts, NeuralForecast,
StatsForecast), made once and reused, and a way to run a script in it as a separate process: JSON in on stdin,
JSON out on the last stdout line, timed. Those libraries never become the project's dependencies.

The venv lives in `$BILSTM_COMPARE_VENV`, else `~/.cache/bilstm-bench/compare-venv`.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

LIBRARIES = {
    "darts": "darts==0.48.1",
    "neuralforecast": "neuralforecast==3.3.0",
    # needs pandas < 3: installed after NeuralForecast, pip moves the venv back to pandas 2
    "statsforecast": "statsforecast==2.1.1",
}
RUNNERS = Path(__file__).with_name("runners")


def venv_dir() -> Path:
    default = Path.home() / ".cache" / "bilstm-bench" / "compare-venv"
    return Path(os.environ.get("BILSTM_COMPARE_VENV", default))


def venv_python() -> Path:
    return venv_dir() / "bin" / "python"


def _tail(text: str, lines: int = 3) -> str:
    """The last lines that say something: pip's and the libraries' warnings come before the error."""
    said = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("WARNING")]
    return " | ".join(said[-lines:])


def _importable(module: str) -> bool:
    check = [str(venv_python()), "-c", f"import {module}"]
    return subprocess.run(check, capture_output=True).returncode == 0


def ensure(libraries: list[str]) -> dict[str, str | None]:
    """Create the venv if missing and install each library not yet importable there, with torch pinned to
    the project venv's version (so pip keeps that build instead of fetching another, such as a CUDA one).

    Returns:
        library -> None when it imports, else why not (the install's last lines), so a caller can go on.
    """
    if not venv_python().exists():
        print(f"creating {venv_dir()} (once)", flush=True)
        venv_dir().parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir())], check=True)
    status: dict[str, str | None] = {}
    torch_pin = f"torch=={metadata.version('torch')}"
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
        constraints.write(torch_pin + "\n")
        constraints.flush()
        for library in libraries:
            if _importable(library):
                status[library] = None
                continue
            print(f"installing {LIBRARIES[library]} into {venv_dir()} ({torch_pin})", flush=True)
            pip = [str(venv_python()), "-m", "pip", "install", "--quiet", "-c", constraints.name]
            done = subprocess.run([*pip, torch_pin, LIBRARIES[library]], capture_output=True, text=True)
            ok = done.returncode == 0 and _importable(library)
            status[library] = None if ok else f"install failed: {_tail(done.stderr or done.stdout)}"
    return status


@dataclass
class RunResult:
    output: dict | None  # the script's JSON answer; None when it failed
    wall_seconds: float  # the whole process: interpreter start, imports, work
    error: str | None = None


def run(script: str, payload: dict, timeout: float | None = None) -> RunResult:
    """Run `bench/runners/<script>` in the venv with `payload` as JSON on stdin; its last stdout line is
    the answer. Its progress goes to stderr, which is shown only when it fails."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(venv_python()), str(RUNNERS / script)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return RunResult(None, time.perf_counter() - started, f"timed out after {timeout:.0f} s")
    wall = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return RunResult(None, wall, f"exit {done.returncode}: {_tail(done.stderr, 5)}")
    return RunResult(json.loads(lines[-1]), wall)


def save_results(path: Path, script: str, status: dict[str, str | None], rows: list[dict]) -> None:
    """A comparison benchmark's results as JSON beside it: the date, the command line, which libraries ran
    (or why not) and the table's rows."""
    summary = {
        "date": datetime.date.today().isoformat(),
        "command": f"python bench/{script} " + " ".join(sys.argv[1:]),
        "library_status": status,
        "rows": rows,
    }
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written to {path}")
