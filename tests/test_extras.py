"""A feature whose extra is not installed says, in one line, which extra to install.

The missing package is simulated by ``sys.modules[name] = None``, which makes Python's import
raise ModuleNotFoundError exactly as when the package is absent.
"""

import sys

import numpy as np
import pytest

from lendsim.cli import main
from lendsim.errors import LendsimError
from lendsim.extras import MissingExtraError, require


def test_require_names_the_extra_when_the_module_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "SALib", None)
    with pytest.raises(MissingExtraError) as err:
        require("SALib.analyze.sobol", "sensitivity", "Sobol indices")
    assert str(err.value) == ("Sobol indices needs the 'sensitivity' extra (SALib is not "
                              "installed): pip install 'lendsim[sensitivity]'")
    assert isinstance(err.value, ImportError) and isinstance(err.value, LendsimError)


def test_require_returns_the_module_when_present():
    assert require("numpy", "viz", "x") is np


def test_a_module_missing_inside_lendsim_is_a_bug_not_an_extra():
    with pytest.raises(ModuleNotFoundError) as err:
        require("lendsim.no_such_module", "viz", "x")
    assert not isinstance(err.value, MissingExtraError)


def test_lendsim_viz_without_solara_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "solara", None)
    assert main(["viz", "--port", "0", "--no-browser"]) == 2
    out, err = capsys.readouterr()
    assert err == ("lendsim: error: lendsim viz needs the 'viz' extra (solara is not "
                   "installed): pip install 'lendsim[viz]'\n")
    assert "dashboard at" not in out


def test_sobol_indices_without_salib_names_the_extra(monkeypatch):
    from lendsim.results.analysis import sobol_indices

    monkeypatch.setitem(sys.modules, "SALib", None)
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
    with pytest.raises(MissingExtraError, match=r"lendsim\[sensitivity\]"):
        sobol_indices({"problem": problem}, np.zeros(8))
