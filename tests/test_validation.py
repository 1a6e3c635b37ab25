"""The validation suite: every check passes, rows are structured, the CLI prints the table."""

import dataclasses

import numpy as np
import pytest

from lendsim.cli import main
from lendsim.validation import Check, format_table, percolation_giant_share, run_validation, simulate_sir


@pytest.fixture(scope="module")
def quick_rows():
    return run_validation(quick=True, seed=0)


def test_quick_suite_passes_and_rows_are_checks(quick_rows):
    assert all(isinstance(r, Check) for r in quick_rows)
    failed = [r for r in quick_rows if not r.passed]
    assert not failed, format_table(failed)
    names = " ".join(r.name for r in quick_rows)
    for part in ("EN 3 banks", "DebtRank chain (original)", "DebtRank chain (linear)", "SIR", "Watts",
                 "Gai-Kapadia"):
        assert part in names
    en = quick_rows[0]
    assert en.measured == "[24.5455, 26.3636, 10.0000]"


def test_same_seed_same_numbers(quick_rows):
    again = run_validation(quick=True, seed=0)
    strip = [dataclasses.replace(r, seconds=0.0) for r in quick_rows]
    assert strip == [dataclasses.replace(r, seconds=0.0) for r in again]


def test_a_failing_check_is_reported():
    rows = [Check("a", "1", "1", True), Check("b", "1", "2", False)]
    table = format_table(rows)
    assert table.splitlines()[-1].endswith("FAIL") and "pass" in table


def test_sir_is_bond_percolation_on_a_path():
    # path 0-1-2-3: with T = 1 everything is reached, with T = 0 only the seed
    import scipy.sparse as sp

    A = sp.diags([1.0, 1.0, 1.0], 1, shape=(4, 4)).tocsr()
    A = (A + A.T).tocsr()
    rng = np.random.default_rng(0)
    assert simulate_sir(A, 1.0, 0, rng) == 4 and simulate_sir(A, 0.0, 2, rng) == 1
    # mean size from the end of a long path: 1 + T + T^2 + ... ~ 1 / (1 - T)
    n = 2000
    P = sp.diags([1.0] * (n - 1), 1, shape=(n, n)).tocsr()
    P = (P + P.T).tocsr()
    sizes = [simulate_sir(P, 0.5, 0, rng) for _ in range(4000)]
    assert np.mean(sizes) == pytest.approx(2.0, abs=0.1)


def test_percolation_giant_share_poisson_identity():
    # Poisson degrees: S = 1 - exp(-z T S)
    k = np.random.default_rng(1).poisson(4.0, 200_000)
    S = percolation_giant_share(k, 0.5)
    assert S == pytest.approx(1 - np.exp(-4.0 * 0.5 * S), abs=3e-3)


def test_cli_validate_quick(capsys):
    assert main(["validate", "--quick", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("check") and "| expected" in out and "| result" in out
    assert "EN 3 banks: clearing payments" in out and "FAIL" not in out
    assert "0 failed (quick suite, seed 1" in out


def test_cli_validate_bad_seed(capsys):
    assert main(["validate", "--seed", "-3"]) == 2
    assert "--seed = -3" in capsys.readouterr().err


@pytest.mark.slow
def test_full_suite_passes():
    rows = run_validation(quick=False, seed=0)
    failed = [r for r in rows if not r.passed]
    assert not failed, format_table(failed)
