"""How many lenders the market's multi-lenders have, and what a change to lenders' limits or
borrowers' need does to it: paired runs of a scenario without and with ``--arm`` settings, on
common seeds. By default the arm is ``platforms.limit_risk_elasticity=1.0``: lenders scale
their limits by the applicant's risk (docs/ODD.md 7.7, *Limits by risk*), against limits
that ignore risk (the default).

    PYTHONPATH=src python scripts/lender_split.py [SCENARIO] [--seeds 1-12]
        [--arm KEY=VALUE ...] [--window 24] [--set KEY=VALUE ...]

It is the measurement behind docs/calibration.md, section 1.1, *How many lenders a
multi-lender has*, and section 2.3, *What the multi-lender split counts*. Each run is the one
``lendsim calibrate`` makes for a seed, and its figures are ``lendsim calibrate``'s, in per
cent, over the run's last ``--window`` months:
the top platform's 30+ and 90+ delinquency, the share of indebted borrowers with several
lenders, and the shares of multi-lenders with 2, 3 and 5 or more lending apps (lenders
other than embedded platforms, as the survey counts them: the borrower snapshots'
``n_app_lenders``, docs/calibration.md 2.3). Then ``apps several``: of the borrowers who
owe a lending app, the share who owe two or more; and the ``all`` columns: the split
counting every lender, the embedded platform included (``n_lenders``, the targets' count
before 2026-12-04). Last, each figure's paired difference (the arm minus the base), its
mean and 95 % t-interval over the seeds. ``--set`` applies to both arms.
"""

from __future__ import annotations

from lendsim.api import resolve_scenario
from lendsim.cli.calibrate import seed_run
from lendsim.results.calibration import calibration_figures, lender_split

# a script beside this one (scripts/ is on the path)
from delinquency_buckets import print_differences, scenario_args

#: ``calibration_figures``' keys this script prints, and their column headers
FIGURES = {"top_delinquency_30": "30+ %", "top_delinquency_90": "90+ %",
           "multi_lender_share": "several %", "multi_lenders_2": "2 %",
           "multi_lenders_3": "3 %", "multi_lenders_5plus": "5+ %",
           "apps_several": "apps several %", "all_2": "all 2 %", "all_3": "all 3 %",
           "all_5plus": "all 5+ %"}


def measure(scenario: str | None, seed: int, window: int, sets: dict) -> dict[str, float]:
    """One run's figures (``FIGURES``, per cent) over its last ``window`` months: the run
    ``lendsim calibrate`` makes for the seed, its figures, and the split counted both ways."""
    res = seed_run(resolve_scenario(scenario, sets), seed, window)
    borrowers = res.extra.get("borrowers")
    f = calibration_figures(res.model, res.platforms, borrowers, window=window)
    first = int(res.model["step"].max()) - window + 1
    f["apps_several"] = lender_split(borrowers, first, "n_app_lenders")["several"]
    f |= {f"all_{k}": v for k, v in lender_split(borrowers, first, "n_lenders").items()
          if k != "several"}
    return {k: 100 * float(f[k]) for k in FIGURES}


def main(argv=None) -> None:
    a, seeds, sets, arm = scenario_args(__doc__, "1-12", 24,
                                        arm="platforms.limit_risk_elasticity=1.0", argv=argv)
    print("arm: " + ", ".join(f"{k}={v}" for k, v in arm.items()))
    print("seed  arm " + "".join(f"{h:>14}" for h in FIGURES.values()))
    diffs = []
    for seed in seeds:
        runs = [measure(a.scenario, seed, a.window, {**sets, **over}) for over in ({}, arm)]
        for name, r in zip(("base", "arm"), runs):
            print(f"{seed:>4}  {name:<4}" + "".join(f"{r[k]:14.2f}" for k in FIGURES),
                  flush=True)
        diffs.append([runs[1][k] - runs[0][k] for k in FIGURES])
    print_differences(diffs, FIGURES, width=20, digits=2)


if __name__ == "__main__":
    main()
