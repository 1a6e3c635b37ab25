"""What borrowers owe each month against their income, and how many cash lenders they use: the
model's figures beside a survey of young Chinese consumers (Nielsen 2019, docs/calibration.md
2.3).

    PYTHONPATH=src python scripts/debt_service.py [SCENARIO] [--seeds 1-3] [--window 12]
        [--set KEY=VALUE ...]

It is the measurement behind docs/calibration.md, section 2.3 (the survey's row). At the end
of each of the run's last ``--window`` months, over all borrowers (figures in per cent, then
their mean over those months):

- ``due``: next month's scheduled payments on the borrower's performing loans (each loan's
  instalment, or its balance with a month's interest where that is less or the loan ends:
  ``kernels.amount_due`` without arrears), over its base monthly income; the mean over
  borrowers, those without debt counting 0. The survey's ratio is each month's repayments
  over monthly income, 41.75 % on average;
- ``due, instalments``: the same without one-month credit (convenience credit, paid in
  full the month after), against the survey's 12.52 % once credit used only as a means of
  payment is left out;
- ``no debt``: borrowers with no open loan (the survey: 13.4 % of young people);
- ``2+ cash lenders``: borrowers who owe two lenders or more on loans of more than a month
  (the survey: 10 % of young people use two online lending apps or more).
"""

from __future__ import annotations

import numpy as np

from lendsim import MarketModel, kernels
from lendsim.api import resolve_scenario
from lendsim.simulation.ledger import LoanStatus

# a script beside this one (scripts/ is on the path)
from delinquency_buckets import scenario_args

#: the figures of each run, in print order, with their headers
FIGURES = {"due": "due %", "due_instalments": "due, instalments %", "no_debt": "no debt %",
           "two_cash_lenders": "2+ cash lenders %"}


def scheduled_payments(model) -> tuple[np.ndarray, np.ndarray]:
    """Next month's scheduled payment of each borrower (RMB): on all its performing loans, and
    on those of more than a month. A loan's payment is its instalment, or its balance with a
    month's interest when that is less or the loan has one instalment left (as
    ``kernels.amount_due`` bills it, without arrears): ``kernels.expected_due``, which the
    demand phase uses, with no arrears, and with one-month loans read as not performing for
    the second."""
    L, n = model.loans, model.n_borrowers
    no_arrears = np.zeros(L.n)

    def due(status):
        return kernels.expected_due(status, L.borrower_idx, L.balance, L.apr, L.instalment,
                                    no_arrears, L.months_left, n)

    return due(L.status), due(np.where(L.term > 1, L.status, np.int8(LoanStatus.DEFAULTED)))


def cash_lenders(model) -> np.ndarray:
    """How many lenders each borrower owes on open loans of more than a month."""
    L = model.loans
    rows = L.is_open() & (L.term > 1)
    pairs = np.unique(L.borrower_idx[rows].astype(np.int64) * model.params.platforms.max_n
                      + L.platform_idx[rows])
    return np.bincount(pairs // model.params.platforms.max_n, minlength=model.n_borrowers)


def month_figures(model) -> dict[str, float]:
    """The figures (``FIGURES``, per cent) at the end of the model's latest month."""
    due, due_long = scheduled_payments(model)
    income = model.population.base_income
    L = model.loans
    indebted = np.bincount(L.borrower_idx[L.is_open()], minlength=model.n_borrowers) > 0
    return {"due": 100 * float(np.mean(due / income)),
            "due_instalments": 100 * float(np.mean(due_long / income)),
            "no_debt": 100 * float(np.mean(~indebted)),
            "two_cash_lenders": 100 * float(np.mean(cash_lenders(model) >= 2))}


def measure(scenario: str | None, seed: int, window: int, sets: dict) -> dict[str, float]:
    """One run's figures, means over the ends of its last ``window`` months."""
    scen = resolve_scenario(scenario, {**sets, "output.charts": False})
    model = MarketModel(scen, seed=seed)
    model.run(scen.simulation.steps - window)
    months = []
    for _ in range(window):
        model.run(1)
        months.append(month_figures(model))
    model.close()
    return {k: float(np.mean([m[k] for m in months])) for k in FIGURES}


def main(argv=None) -> None:
    a, seeds, sets, _ = scenario_args(__doc__, "1-3", 12, argv=argv)
    print("seed" + "".join(f"{h:>20}" for h in FIGURES.values()))
    runs = []
    for seed in seeds:
        r = measure(a.scenario, seed, a.window, sets)
        runs.append(r)
        print(f"{seed:>4}" + "".join(f"{r[k]:20.2f}" for k in FIGURES), flush=True)
    print("mean" + "".join(f"{np.mean([r[k] for r in runs]):20.2f}" for k in FIGURES))


if __name__ == "__main__":
    main()
