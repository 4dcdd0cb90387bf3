"""The tuned-allocator environment (`GLIBC_TUNABLES`) that `bilstm train` and the dashboard's flow runs
start with."""

import os
import platform
import subprocess
import sys

import pytest

from deployments.malloc_tuning import MALLOC_TUNABLES, with_tuned_malloc

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
        "import os; from deployments.malloc_tuning import reexec_with_tuned_malloc\n"
        "print('start', flush=True); reexec_with_tuned_malloc(); print(os.environ['GLIBC_TUNABLES'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "BILSTM_MALLOC_TUNING")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["start", "start", MALLOC_TUNABLES]
