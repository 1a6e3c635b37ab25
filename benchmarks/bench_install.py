"""The README's first command, timed: a fresh virtual environment, ``pip install`` of this
clone (with the extras given), then ``lendsim run``; prints the install and run times, the
environment's size and its number of packages (the figures the README quotes). Then
``lendsim run`` once more: the first run compiled the numba kernels (the new environment has
no cache) and cached them, the second loads them.

    python benchmarks/bench_install.py                 # the core install
    python benchmarks/bench_install.py --extras all    # with every optional feature

Everything happens in a temporary folder (removed afterwards); pip's cache is not used, so
each package is fetched again (from the index, or from any local wheel folder pip is set up
to use, as on the machine the README's figures come from).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def folder_mb(path: Path) -> float:
    """Size of the files under ``path``, in MB (10^6 bytes)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()
               and not f.is_symlink()) / 1e6


def measure(extras: str = "", python: str = sys.executable) -> dict:
    """Install this clone into a fresh venv and run ``lendsim run`` there; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        src, venv = Path(tmp) / "src", Path(tmp) / "venv"
        skip = shutil.ignore_patterns("__pycache__", "*.egg-info")

        def ignore(folder: str, names: list[str]) -> set[str]:
            top = {".git", ".venv", "results", "build"} if Path(folder) == ROOT else set()
            return set(skip(folder, names)) | (top & set(names))

        shutil.copytree(ROOT, src, ignore=ignore)
        env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        target = f".[{extras}]" if extras else "."
        t0 = time.perf_counter()
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", target], cwd=src,
                       env=env, check=True)
        t1 = time.perf_counter()
        run = [str(venv / "bin" / "lendsim"), "run", "--quiet", "--no-charts"]
        subprocess.run(run, cwd=src, env=env, check=True, stdout=subprocess.DEVNULL)
        t2 = time.perf_counter()
        # the first run compiled the kernels and cached them next to the installed module
        # (NUMBA_CACHE_DIR, when set, takes precedence); the second loads them
        subprocess.run(run, cwd=src, env=env, check=True, stdout=subprocess.DEVNULL)
        t3 = time.perf_counter()
        freeze = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=freeze"],
                                capture_output=True, text=True, env=env, check=True).stdout
        cached = list(venv.glob("lib/python*/site-packages/lendsim/__pycache__/*.nbi"))
        return {"install_s": t1 - t0, "run_s": t2 - t1, "run_warm_s": t3 - t2,
                "size_mb": folder_mb(venv), "packages": len(freeze.split()),
                "kernel_cache_files": len(cached)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--extras", default="", help="extras to install, e.g. all or viz,dask")
    args = ap.parse_args(argv)
    r = measure(args.extras)
    what = f"pip install '.[{args.extras}]'" if args.extras else "pip install ."
    print(f"{what}: install {r['install_s']:.1f} s, lendsim run {r['run_s']:.1f} s, "
          f"total {r['install_s'] + r['run_s']:.1f} s; environment {r['size_mb']:.0f} MB, "
          f"{r['packages']} packages")
    where = ("NUMBA_CACHE_DIR" if os.environ.get("NUMBA_CACHE_DIR") else
             f"{r['kernel_cache_files']} index files in the installed lendsim/__pycache__")
    print(f"lendsim run again (kernels from the cache: {where}): {r['run_warm_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
