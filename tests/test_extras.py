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


def hide(monkeypatch, package):
    """Make ``package`` and its submodules (even ones imported already) unimportable."""
    for name in [m for m in sys.modules if m.startswith(package + ".")] + [package]:
        monkeypatch.setitem(sys.modules, name, None)


def test_require_names_the_extra_when_the_module_is_missing(monkeypatch):
    hide(monkeypatch, "SALib")
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
    hide(monkeypatch, "solara")
    assert main(["viz", "--port", "0", "--no-browser"]) == 2
    out, err = capsys.readouterr()
    assert err == ("lendsim: error: lendsim viz needs the 'viz' extra (solara is not "
                   "installed): pip install 'lendsim[viz]'\n")
    assert "dashboard at" not in out


def test_sobol_indices_without_salib_names_the_extra(monkeypatch):
    from lendsim.results.analysis import sobol_indices

    hide(monkeypatch, "SALib")
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
    with pytest.raises(MissingExtraError, match=r"lendsim\[sensitivity\]"):
        sobol_indices({"problem": problem}, np.zeros(8))


def _experiment(tmp_path, body):
    path = tmp_path / "x.toml"
    path.write_text('# t\n[meta]\nname = "x"\nextends = "baseline.toml"\n'
                    '[params]\n"borrowers.n" = 200\n"platforms.n" = 3\n"banks.n" = 3\n'
                    '[run]\nsteps = 2\n' + body)
    return path


def test_a_sampled_design_without_salib_is_one_line_and_writes_nothing(monkeypatch, capsys,
                                                                       tmp_path):
    hide(monkeypatch, "SALib")
    path = _experiment(tmp_path, '[sample]\nkind = "latin"\nn = 2\n'
                                 '"regulator.apr_cap" = [0.2, 0.3]\n')
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == ("lendsim: error: [sample] kind = 'latin' needs the 'sensitivity' extra "
                   "(SALib is not installed): pip install 'lendsim[sensitivity]'\n")
    assert not (tmp_path / "out").exists()


def test_executor_dask_without_distributed_is_one_line_and_writes_nothing(monkeypatch, capsys,
                                                                          tmp_path):
    hide(monkeypatch, "distributed")
    path = _experiment(tmp_path, '[sweep]\n"regulator.apr_cap" = [0.2, 0.3]\n')
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--executor", "dask",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == ("lendsim: error: --executor dask needs the 'dask' extra (distributed is "
                   "not installed): pip install 'lendsim[dask]'\n")
    assert not (tmp_path / "out").exists()


def test_the_report_of_a_sampled_sweep_without_salib_says_so_and_is_written(monkeypatch,
                                                                           tmp_path):
    pytest.importorskip("SALib", reason="the sweep itself samples with SALib")
    path = _experiment(tmp_path, '[sample]\nkind = "morris"\nn = 2\n'
                                 '"regulator.apr_cap" = [0.2, 0.3]\n'
                                 '"regulator.data_sharing" = [0.0, 1.0]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet", "--executor",
                 "serial"]) == 0
    hide(monkeypatch, "SALib")
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "Summary per arm" in page and "pip install &#x27;lendsim[sensitivity]&#x27;" in page
