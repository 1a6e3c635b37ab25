"""How each lender's training window counts defaults: the defaults its instalment ring holds
against the defaults of the months of matured loans it holds them from.

    PYTHONPATH=src python scripts/window_defaults.py [SCENARIO] [--seeds 1-3]
                                                    [--window 60] [--set KEY=VALUE ...]

A platform learns from its last ``platforms.training_window`` matured loans, kept in two rings:
one-month draws and, apart, instalment loans (docs/ODD.md 7.10). Each month the loans that
matured at a platform are written into its rings, thinned to fit (every k-th standing for k).
When a ring holds the newest month whole and only part of an older month, the part it holds
should be a fair share of that month: otherwise the window's default rate is not the rate of
the loans it stands for, and so neither is the PD the platform fits to it.

At the end of each of the run's last ``--window`` months, for each platform's instalment ring:
the weighted defaults it holds (``held``), and what it would hold if the part of each month it
holds had that month's weighted default rate (``fair``: the weight held of each month times
that month's rate). Printed per lender type: ``held / fair`` summed over platforms, months and
seeds (1 = no bias), the ring's mean weighted default rate, and the mean share of the ring
taken by its newest month. Reading the model, not changing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from delinquency_buckets import scenario_args  # noqa: E402  (a script folder, not a package)

from lendsim import MarketModel  # noqa: E402
from lendsim.api import resolve_scenario  # noqa: E402

#: the instalment-loan ring of a ``TrainingWindow`` (ring 0 holds the one-month draws)
LOANS = 1


def batch_written(window, ring: int, start: int) -> tuple[int, int, float]:
    """The rows written into ``window``'s ring ``ring`` since its write count was ``start``:
    ``(start, end, weighted default rate)`` (rate NaN when none). Read right after they were
    written, before anything overwrote them."""
    end = int(window.n_seen[ring])
    if end <= start:
        return start, start, float("nan")
    half = window.y.shape[1]
    slots = np.arange(start, end) % half
    w, y = window.w[ring, slots].astype(float), window.y[ring, slots]
    return start, end, float(np.dot(w, y) / w.sum())


def held_and_fair(window, ring: int, batches: list[tuple[int, int, float]]
                  ) -> tuple[float, float, float, float]:
    """For the rows ring ``ring`` of ``window`` holds now: the weighted defaults
    (``held``), the weighted defaults at each month's own rate (``fair``), the total weight,
    and the weight of the newest month (the last of ``batches``, 0 when it wrote nothing).
    ``batches``: ``(start, end, rate)`` of every month written since the oldest row held, in
    order (:func:`batch_written`)."""
    half = window.y.shape[1]
    oldest = max(int(window.n_seen[ring]) - half, 0)
    held = fair = total = newest = 0.0
    for start, end, rate in batches:
        lo = max(start, oldest)
        newest = 0.0
        if end <= lo:
            continue
        slots = np.arange(lo, end) % half
        w = window.w[ring, slots].astype(float)
        held += float(np.dot(w, window.y[ring, slots]))
        fair += float(w.sum()) * rate
        total += float(w.sum())
        newest = float(w.sum())
    return held, fair, total, newest


def measure(scenario: str | None, seed: int, window: int, sets: dict) -> dict:
    """Over the last ``window`` months of one run: per lender type, the sums of ``held``,
    ``fair``, the weight held and the newest month's weight (:func:`held_and_fair`) over its
    platforms' instalment rings and the months."""
    scen = resolve_scenario(scenario, sets)
    model = MarketModel(scen, seed=seed)
    model.burn_in()
    steps = scen.simulation.steps
    batches: dict[int, list] = {}
    out: dict[str, np.ndarray] = {}
    for t in range(1, steps + 1):
        before = {pl.idx: int(pl.window.n_seen[LOANS]) for pl in model.platforms}
        model.run(1)
        for pl in model.platforms:
            mine = batches.setdefault(pl.idx, [])
            mine.append(batch_written(pl.window, LOANS, before.get(pl.idx, 0)))
            oldest = int(pl.window.n_seen[LOANS]) - pl.window.y.shape[1]
            while mine and mine[0][1] <= oldest:  # months no row of which is held any more
                mine.pop(0)
            if t > steps - window and pl.is_active:
                got = np.array(held_and_fair(pl.window, LOANS, mine))
                if got[1] > 0:  # a ring with defaults to count
                    out[pl.kind] = out.get(pl.kind, np.zeros(4)) + got
    model.close()
    return out


def main(argv=None) -> None:
    a, seeds, sets, _ = scenario_args(__doc__, "1-3", 60, argv=argv)
    total: dict[str, np.ndarray] = {}
    for seed in seeds:
        for kind, v in measure(a.scenario, seed, a.window, sets).items():
            total[kind] = total.get(kind, np.zeros(4)) + v
    print(f"instalment rings over the last {a.window} months, seeds {seeds.start}-"
          f"{seeds.stop - 1}:")
    print(f"{'lender type':<18}{'held / fair':>12}{'default rate %':>16}{'newest month %':>16}")
    for kind, (held, fair, weight, newest) in sorted(total.items()):
        print(f"{kind:<18}{held / fair:12.3f}{100 * held / weight:16.3f}"
              f"{100 * newest / weight:16.1f}")


if __name__ == "__main__":
    main()
