"""``lendsim validate [--quick] [--seed S]``: the validation suite of ``lendsim.validation``
as a table; exit status 1 if any check fails."""

from __future__ import annotations

import sys
import time

from lendsim.errors import LendsimError


def add_parser(sub) -> None:
    """Register ``lendsim validate [--quick] [--seed S]``."""
    p = sub.add_parser("validate", help="run the validation suite against published results")
    p.add_argument("--quick", action="store_true", help="small networks, few trials (under a minute)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.set_defaults(handler=_validate)


def _validate(args) -> int:
    from lendsim.validation import format_table, run_validation

    if args.seed < 0:
        raise LendsimError(f"--seed = {args.seed}: allowed values are integers >= 0")
    start = time.perf_counter()
    rows = run_validation(quick=args.quick, seed=args.seed,
                          progress=lambda name: print(f"lendsim validate: {name} ...", file=sys.stderr))
    print(format_table(rows))
    n_failed = sum(not r.passed for r in rows)
    suite = "quick" if args.quick else "full"
    print(f"{len(rows)} checks, {n_failed} failed ({suite} suite, seed {args.seed}, "
          f"{time.perf_counter() - start:.1f} s)")
    return 1 if n_failed else 0
