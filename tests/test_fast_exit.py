"""The `bilstm` command's fast exits: its exit without module teardown (`deployments.fast_exit`) keeps the
steps of a normal exit, and the two private CPython functions it calls still exist and still do those steps
(these tests fail when Python changes under the module); a refused input loads none of the heavy libraries."""

import atexit
import os
import subprocess
import sys
import threading

EXIT_SCRIPT = """
import atexit, concurrent.futures, sys, threading, time
from pathlib import Path
from deployments.fast_exit import exit_without_teardown
out = Path(sys.argv[1])
atexit.register(lambda: out.write_text(out.read_text() + "atexit ran"))
pool = concurrent.futures.ThreadPoolExecutor(1)
pool.submit(lambda: (time.sleep(0.5), out.write_text("pool job done; ")))  # still running at exit
worker = threading.Thread(target=lambda: (time.sleep(0.5), print("worker done", end="")))
worker.start()
print("buffered ", end="")  # no newline: still in the buffer of a piped stdout
exit_without_teardown(3)
"""


def test_the_quick_exit_keeps_the_steps_of_a_normal_exit(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("")
    done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, str(out)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 3
    assert done.stdout == "buffered worker done"  # threads were waited for, the streams flushed
    assert out.read_text() == "pool job done; atexit ran"  # pools drained first, then the atexit handlers


PRIVATE_STEPS = """
import atexit, sys, threading, time
from pathlib import Path
out = Path(sys.argv[1])
atexit.register(lambda: out.write_text(out.read_text() + "atexit ran"))
threading.Thread(target=lambda: (time.sleep(0.3), out.write_text("thread done; "))).start()
threading._shutdown()  # must wait for the non-daemon thread
atexit._run_exitfuncs()  # must run the handler
out.write_text(out.read_text() + "; after")
"""


def test_the_private_exit_steps_exist_and_do_what_the_quick_exit_relies_on(tmp_path):
    assert callable(getattr(threading, "_shutdown", None))
    assert callable(getattr(atexit, "_run_exitfuncs", None))
    out = tmp_path / "out.txt"
    out.write_text("")
    subprocess.run([sys.executable, "-c", PRIVATE_STEPS, str(out)], check=True, timeout=60)
    # the thread was waited for, the handler ran once (not again at the real exit: the list was emptied)
    assert out.read_text() == "thread done; atexit ran; after"


REFUSALS_SCRIPT = """
import sys
from deployments.cli import app
for command in sys.argv[1:]:
    try:
        app(command.split())
    except SystemExit as done:
        print(command.split()[0], done.code)
print(*sorted(m for m in ("torch", "sklearn", "prefect", "mlflow") if m in sys.modules))
"""


def test_a_missing_file_or_a_bad_option_is_refused_without_loading_torch_sklearn_prefect_or_mlflow(tmp_path):
    missing = tmp_path / "missing.csv"
    space = tmp_path / "space.yaml"
    space.write_text("train.lr: {low: a, high: 1}\n")
    commands = [f"{name} --data {missing}" for name in ("train", "backtest", "sweep", "forecast", "monitor")]
    commands += ["backtest --workers 0", "backtest --step 0", f"sweep --space {space}"]
    env = dict(os.environ, BILSTM_MALLOC_TUNING="0")  # no restart of the process: its modules are read here
    done = subprocess.run([sys.executable, "-c", REFUSALS_SCRIPT, *commands], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip
    *codes, loaded = done.stdout.splitlines()
    assert codes == [f"{command.split()[0]} 2" for command in commands], done.stderr
    assert "file not found" in done.stderr and "--workers 0" in done.stderr and "low and high" in done.stderr
    assert loaded == ""  # none of the four
