"""The tuned-allocator environment that `bilstm train` and the dashboard's flow runs start with, and the
quick exit of the `bilstm` command."""

import os
import platform
import subprocess
import sys

import pytest

from bilstm.runtime import MALLOC_TUNABLES, with_tuned_malloc

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only"
)


@glibc_only
def test_tunables_are_added_and_existing_ones_kept():
    assert with_tuned_malloc({})["GLIBC_TUNABLES"] == MALLOC_TUNABLES
    env = with_tuned_malloc({"GLIBC_TUNABLES": "glibc.pthread.rseq=0"})
    assert env["GLIBC_TUNABLES"] == f"glibc.pthread.rseq=0:{MALLOC_TUNABLES}"


def test_opting_out_or_a_user_threshold_leaves_the_environment_alone():
    assert "GLIBC_TUNABLES" not in with_tuned_malloc({"BILSTM_MALLOC_TUNING": "0"})
    mine = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"}
    assert with_tuned_malloc(mine) == mine


@glibc_only
def test_a_command_restarts_itself_once_with_the_tuned_allocator():
    code = (
        "import os; from bilstm.runtime import reexec_with_tuned_malloc\n"
        "print('start', flush=True); reexec_with_tuned_malloc(); print(os.environ['GLIBC_TUNABLES'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "BILSTM_MALLOC_TUNING")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["start", "start", MALLOC_TUNABLES]


EXIT_SCRIPT = """
import atexit, concurrent.futures, sys, threading, time
from pathlib import Path
from bilstm.runtime import exit_without_teardown
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
