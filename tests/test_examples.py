"""The examples ship with the package: `lendsim run NAME` in any install, `lendsim examples`
lists them with their questions and copies one out to edit."""

import tomllib
from importlib import resources

from lendsim.cli import main
from lendsim.simulation.scenario import examples

TINY = ["--set", "borrowers.n=200", "--set", "platforms.n=3", "--set", "banks.n=3",
        "--steps", "40", "--no-charts", "--quiet"]  # the shock starts in month 37


def test_every_example_is_package_data_with_a_question():
    root = resources.files("lendsim") / "examples"
    files = sorted(r.name for r in root.iterdir() if r.name.endswith(".toml"))
    listed = dict(examples())
    assert sorted(f"{n}.toml" for n in listed) == files and len(files) >= 20
    for name, question in listed.items():
        if name != "baseline":
            assert question.endswith("?"), (name, question)


def test_examples_lists_each_with_its_question(capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["example", "question", "it", "answers"]
    assert "income_shock" in out and "how fast does delinquency rise" in out
    assert max(len(ln) for ln in lines) <= 100


def test_run_takes_a_bare_example_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no income_shock.toml here: the shipped one
    assert main(["run", "income_shock", *TINY, "--out", str(tmp_path / "r")]) == 0
    assert "results:" in capsys.readouterr().out


def test_copy_an_example_out_edit_it_and_run_it(tmp_path, capsys):
    assert main(["examples", "income_shock", "--copy", str(tmp_path)]) == 0
    copy = tmp_path / "income_shock.toml"
    assert tomllib.loads(copy.read_text())["meta"]["extends"] == "baseline.toml"
    copy.write_text(copy.read_text().replace('name = "income_shock"', 'name = "mine"'))
    capsys.readouterr()
    assert main(["run", str(copy), *TINY, "--out", str(tmp_path / "r")]) == 0
    assert "results:" in capsys.readouterr().out
    # never overwrites, and a wrong name gets a suggestion; one line each, exit 2
    assert main(["examples", "income_shock", "--copy", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["examples", "incme_shock"]) == 2
    assert capsys.readouterr().err == ("lendsim: error: example 'incme_shock': no such "
                                       "example; did you mean 'income_shock'?\n")


def test_show_an_example(capsys):
    assert main(["examples", "competition"]) == 0
    assert capsys.readouterr().out.startswith("# Question: does more competition")
