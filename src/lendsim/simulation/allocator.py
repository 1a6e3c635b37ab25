"""The C allocator's policy for a process that runs the model.

A month allocates and frees many arrays of 1-30 MB (one float per borrower at 10^5-10^6
borrowers, one per applicant, a month's new loans). glibc's ``malloc`` serves a block of that
size from ``mmap`` until a freed one has raised its threshold (it adapts to the largest block
freed, up to 32 MB), and every ``mmap`` costs a page fault per 4 kB the first time the block is
written. Which blocks happen to be freed first then decides how often the run faults. On
``benchmarks/bench_model.py``'s scenario at 10^5 borrowers x 60 months it was 155,000-169,000
minor faults with glibc's defaults and 26,000-27,000 with the thresholds below, which cut the
run from 12.1-12.6 s to 11.5 s. The peak was 457-467 MB against 472-473 MB (benchmarks/README.md,
"Page faults, the debt matrix and compaction"). Fixing the thresholds makes that cost the same
in every run.

Only glibc (Linux) has ``mallopt``; elsewhere, when the user set ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` (glibc's own variables), or with ``LENDSIM_MALLOC=system`` (glibc's
defaults, as before this module), nothing is changed. Results do not depend on it: it moves no
number, only where memory comes from.

The thresholds do not stop the arrays that live a month (a borrower's income, the debt
totals) from leaving holes in the heap when each month allocates them anew beside the old
ones; :func:`in_place` keeps them where they are.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import numpy as np

#: glibc's ``mallopt`` parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: blocks below this come from the heap, and are reused without new page faults: glibc's
#: ceiling for the threshold on 64-bit systems (``DEFAULT_MMAP_THRESHOLD_MAX``), bytes
MMAP_THRESHOLD = 32 * 2**20
#: free memory at the top of the heap kept rather than returned to the system, bytes
#: (setting the threshold above turns off glibc's own adjustment of this one)
TRIM_THRESHOLD = 128 * 2**20

_done = False


def tune() -> bool:
    """Set the thresholds once per process; returns whether they are set (now or before)."""
    global _done
    if _done:
        return True
    if ("MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ
            or os.environ.get("LENDSIM_MALLOC") == "system"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _done = (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
             and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return _done


def in_place(old, new):
    """``new``'s values written into ``old`` when shape and type match (``old`` is
    returned), else ``new``. An array that lives a month then keeps its place in memory,
    and ``new``, a temporary, is freed at once: allocated anew beside the old one every
    month, such arrays left holes in the heap that grew with the months (at 10^6 borrowers
    x 120 months the peak was 110-280 MB higher; benchmarks/README.md, "Month-lived arrays
    in place"). Whoever holds ``old`` sees the new values."""
    if (isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape
            and old.dtype == new.dtype and old.flags.writeable):
        old[...] = new
        return old
    return new
