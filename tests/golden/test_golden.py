"""The golden test: every output table of the golden runs hashes as pinned.

The pins live in golden_hashes.json; see golden_hashes.py for how to regenerate them when a
change is meant to change the model's numbers.
"""

import json

import pytest
from golden_hashes import CASES, PINNED, SEEDS, run_case

PINS = json.loads(PINNED.read_text())


def test_pins_cover_every_case():
    assert sorted(PINS) == sorted(f"{c}/seed{s}" for c in CASES for s in SEEDS)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", SEEDS)
def test_tables_match_pins(case, seed):
    got = run_case(case, seed)
    want = PINS[f"{case}/seed{seed}"]
    changed = [name for name in sorted(set(got) | set(want)) if got.get(name) != want.get(name)]
    assert not changed, f"{case}, seed {seed}: tables changed: {', '.join(changed)}"
