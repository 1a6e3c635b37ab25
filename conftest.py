"""Collection of the package's doctests: modules that need a missing extra are skipped (the
core install has no Solara; `lendsim viz` says which extra to install)."""

import importlib.util
import os
import platform

# The golden pins (tests/golden) hold only where the arithmetic is the same to the last bit,
# since the model can still turn a last-bit difference into a different decision. numpy's
# OpenBLAS picks its kernels by CPU and its own loops may use AVX-512, which changes the last
# bits of matrix products; pin both to the AVX2 paths every x86-64 machine of today has,
# before numpy loads (here: the first file pytest reads; golden_hashes.py does the same when
# it writes the pins).
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
    os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")

collect_ignore = []
if importlib.util.find_spec("solara") is None:
    collect_ignore.append("src/lendsim/viz/app.py")
