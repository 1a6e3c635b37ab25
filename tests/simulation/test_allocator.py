"""The allocator policy (lendsim.simulation.allocator): blocks of a few MB freed and
allocated again every month must not fault their pages in afresh each time."""

import os
import subprocess
import sys

import pytest

from lendsim.simulation import allocator

# a month in small: three 8 MB arrays allocated, written and freed together, ten times; prints
# the minor page faults of the last nine rounds. Untuned, the first free raises glibc's mmap
# threshold to 8 MB and its trim threshold to 16 MB, so later rounds take the arrays from the
# heap and hand what is above 16 MB back at the end of each round, to fault it in again
_ROUNDS = """
import resource, sys
import numpy as np
from lendsim.simulation import allocator
if sys.argv[1] == "tune":
    assert allocator.tune()
def month():
    a, b, c = np.ones(2**20), np.ones(2**20), np.ones(2**20)  # 8 MB each, every page written
    del a, b, c
month()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(9):
    month()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "LENDSIM_MALLOC"}
    out = subprocess.run([sys.executable, "-c", _ROUNDS, mode], capture_output=True, text=True,
                         env=env, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_allocator_reuses_freed_blocks_instead_of_faulting_them_in_again():
    untuned, tuned = _faults("default"), _faults("tune")
    pages = 9 * 24 * 2**20 // 4096  # what nine rounds of fresh blocks fault in, 4 kB a page
    # glibc's default: what lies above the 16 MB trim threshold (8 MB a round) comes back
    assert untuned > pages / 6, untuned
    assert tuned < pages / 100, tuned  # tuned: the heap keeps it, and the rounds reuse it


@pytest.mark.parametrize("var, value", [("MALLOC_MMAP_THRESHOLD_", "65536"),
                                        ("MALLOC_TRIM_THRESHOLD_", "0"),
                                        ("LENDSIM_MALLOC", "system")])
def test_tune_leaves_the_users_own_malloc_settings_alone(monkeypatch, var, value):
    monkeypatch.setattr(allocator, "_done", False)
    monkeypatch.setenv(var, value)
    assert allocator.tune() is False
