"""The dependency direction reads top-down (issue 17, item 7): the model (simulation/, agents/)
imports nothing from the layers that use it, and the experiment-folder layout has one home."""

import ast
from pathlib import Path

import lendsim

SRC = Path(lendsim.__file__).parent
UPPER = ("lendsim.experiments", "lendsim.results", "lendsim.cli", "lendsim.viz",
         "lendsim.validation", "lendsim.api")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_the_model_imports_nothing_from_the_layers_above_it():
    bad = [(str(f.relative_to(SRC)), m)
           for pkg in ("simulation", "agents") for f in sorted((SRC / pkg).rglob("*.py"))
           for m in _imports(f) if m.startswith(UPPER)]
    assert bad == []


def test_policy_imports_params_at_module_level():
    tree = ast.parse((SRC / "simulation" / "policy.py").read_text(encoding="utf-8"))
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    nested = {n.module for f in tree.body if isinstance(f, (ast.FunctionDef, ast.ClassDef))
              for n in ast.walk(f) if isinstance(n, ast.ImportFrom)}
    assert "lendsim.simulation.params" in top
    assert "lendsim.simulation.params" not in nested


def test_folder_file_names_are_defined_once():
    names = ("MANIFEST_FILE", "EXPERIMENT_FILE", "RUNS_FILE", "RUNS_DIR", "FAILURES_DIR",
             "LOCK_FILE", "SOURCE_FILE")
    where = {}
    for f in SRC.rglob("*.py"):
        for node in ast.parse(f.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name) and t.id in names:
                        where.setdefault(t.id, []).append(str(f.relative_to(SRC)))
    assert where == {n: ["results/folders.py"] for n in names}


def test_command_handlers_live_in_the_cli_package():
    """No module outside cli/ defines a subcommand, except the dashboard's launcher (it starts
    the web server next to the app it serves; it runs no model itself)."""
    outside = sorted(str(f.relative_to(SRC)) for f in SRC.rglob("*.py")
                     if "def add_parser(" in f.read_text(encoding="utf-8")
                     and f.parent != SRC / "cli")
    assert outside == ["viz/cli.py"]
