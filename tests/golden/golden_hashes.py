"""Hashes of every output table of the golden runs: the golden scenario (golden.toml) x 3 seeds
x every contagion channel on, then each switched off in turn.

A refactor changes no number, so these hashes must not change; a change meant to change the
model regenerates them (``python tests/golden/golden_hashes.py --write``) in the same commit and
says why in its message.

Floats are hashed to 9 significant digits, and a value within 1e-9 of its column's scale
(``max(1, max |x|)``) as 0: the last bits of a sum or a matrix product differ between CPUs
(numpy's BLAS picks its kernels by CPU), and near-zero residues such as cash left after paying
in full are pure rounding, while any change in the model shows in far fewer digits. The model
must not turn last-bit differences into different decisions (phases/repayment.py,
``PAID_TOLERANCE``): the pins hold only if it does not.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path

if platform.machine().lower() in ("x86_64", "amd64"):  # as conftest.py, before numpy
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
    os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "golden.toml"
PINNED = HERE / "golden_hashes.json"
SEEDS = (1, 2, 3)
CHANNELS = ("social", "debt_spiral", "platform_failure", "common_funder", "interbank",
            "reputation", "operational")
#: case name -> overrides: all channels on, then each off in turn
CASES = {"all_on": {}} | {f"no_{c}": {f"contagion.{c}": False} for c in CHANNELS}


def table_hash(df: pd.DataFrame) -> str:
    """A hash of a table's columns, dtypes and values (floats to 9 significant digits, values
    within 1e-9 of the column's scale as 0)."""
    h = hashlib.sha256()
    h.update(repr(list(df.columns)).encode())
    h.update(repr(len(df)).encode())
    for c in df.columns:
        v = df[c].to_numpy()
        if v.dtype.kind == "f":
            x = v.astype(np.float64)
            finite = np.isfinite(x)
            scale = max(1.0, float(np.abs(x[finite]).max())) if finite.any() else 1.0
            x = np.where(np.abs(x) <= 1e-9 * scale, 0.0, x)
            text = np.char.mod("%.9g", x)
            h.update("\x1f".join(text.tolist()).encode())
        else:
            h.update("\x1f".join(map(str, v.tolist())).encode())
    return h.hexdigest()[:16]


def run_case(case: str, seed: int) -> dict[str, str]:
    """Run one golden case and hash each of its tables."""
    import lendsim

    res = lendsim.run(str(SCENARIO), seed=seed, overrides=CASES[case])
    return {name: table_hash(t) for name, t in sorted(res.tables().items())}


def all_hashes() -> dict[str, dict[str, str]]:
    return {f"{case}/seed{seed}": run_case(case, seed) for case in CASES for seed in SEEDS}


if __name__ == "__main__":
    hashes = all_hashes()
    if "--write" in sys.argv:
        PINNED.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(hashes)} runs to {PINNED}")
    else:
        print(json.dumps(hashes, indent=1, sort_keys=True))
