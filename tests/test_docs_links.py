"""The repository stands alone: no file cites a document that is not in it, every relative link
in the README and docs/ leads to a file of the repository, and docs/calibration.md lists every
figure ``lendsim calibrate`` compares with, with the band the code uses."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lendsim.results.calibration import TARGETS

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()
# notes kept outside the repository, which users never see (spelled so that this file does not
# match its own search)
OUTSIDE_NOTES = tuple(f"{name}.md" for name in ("CALIBRATION", "DESIGN", "STYLE"))
# [text](target) and ![alt](target), and reference definitions "[label]: target"
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
# a path-like mention of a Markdown file in text: docs/ODD.md, calibration.md, ../x/README.md
MD_MENTION = re.compile(r"(?<![\w./-])((?:\.{1,2}/)*[\w-]+(?:/[\w.-]+)*\.md)\b")


def tracked_files() -> list[str]:
    """The files git tracks in this checkout (skips outside a git checkout, e.g. an sdist)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = [f for f in out.decode().split("\0") if f]
    if not files:
        pytest.skip("git tracks no files here")
    return files


def markdown_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def links(text: str) -> list[str]:
    return INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)


def resolves(target: str, doc: Path, tracked: set[str]) -> bool:
    """Whether a relative link or mention from ``doc`` names a tracked file or folder: relative
    to the document's folder, or (for mentions such as docs/ODD.md in a docstring) to the
    repository root."""
    target = target.split("#", 1)[0].split("?", 1)[0]
    if not target:
        return True  # an anchor in the same document
    for base in (doc.parent, ROOT):
        path = (base / target).resolve()
        try:
            rel = path.relative_to(ROOT).as_posix()
        except ValueError:
            continue  # outside the repository
        if rel in tracked or any(f.startswith(rel + "/") for f in tracked):
            return True
    return False


def test_link_check_finds_broken_and_outside_links(tmp_path):
    """The helpers above catch what the tests below rely on them to catch."""
    text = ("[ok](docs/ODD.md#7-submodels) ![img](docs/baseline-market.png) "
            "[gone](docs/missing.md) [web](https://example.org/x.md) [out](../shared/x.md)\n"
            "[ref]: docs/calibration.md\n")
    found = links(text)
    assert found == ["docs/ODD.md#7-submodels", "docs/baseline-market.png", "docs/missing.md",
                     "https://example.org/x.md", "../shared/x.md", "docs/calibration.md"]
    tracked = {"docs/ODD.md", "docs/baseline-market.png", "docs/calibration.md"}
    readme = ROOT / "README.md"
    assert [t for t in found if "://" not in t and not resolves(t, readme, tracked)] == [
        "docs/missing.md", "../shared/x.md"]
    assert MD_MENTION.findall("see docs/ODD.md, 7.1; ../shared/bench/README.md and x.md.") == [
        "docs/ODD.md", "../shared/bench/README.md", "x.md"]


def test_no_file_cites_notes_outside_the_repository():
    """Team notes outside the repository are never cited: their content belongs in docs/
    (figures and sources in docs/calibration.md, the model in docs/ODD.md)."""
    hits = []
    for name in tracked_files():
        if name == THIS:
            continue
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the work tree but not yet in the index
        data = path.read_bytes()
        hits += [f"{name}: {note}" for note in OUTSIDE_NOTES if note.encode() in data]
    assert hits == []


def test_relative_links_in_readme_and_docs_lead_to_files_of_the_repository():
    tracked = set(tracked_files())
    broken = []
    for doc in markdown_docs():
        for target in links(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # https:, mailto:
            if not resolves(target, doc, tracked):
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []


def test_markdown_files_mentioned_in_docs_and_code_are_in_the_repository():
    """A Markdown file named in the README, docs/, the package, the benchmarks or the tests
    (docs/ODD.md in a docstring, calibration.md in a comment) is a file of the repository."""
    tracked = set(tracked_files())
    basenames = {f.rsplit("/", 1)[-1] for f in tracked}
    missing = []
    for name in sorted(tracked):
        if not (name == "README.md" or name.startswith(("docs/", "src/", "tests/",
                                                        "benchmarks/"))):
            continue
        if not name.endswith((".md", ".py", ".toml", ".txt", ".ipynb")) or name == THIS:
            continue
        doc = ROOT / name
        if not doc.is_file():
            continue
        for mention in MD_MENTION.findall(doc.read_text(encoding="utf-8")):
            if "/" not in mention and mention in basenames:
                continue  # a bare name in a listing or in code ("docs" / "ODD.md")
            if not resolves(mention, doc, tracked):
                missing.append(f"{name}: {mention}")
    assert missing == []


def _target_table() -> dict[str, list[str]]:
    """The rows of docs/calibration.md's table of targets (section 1), by figure key."""
    text = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    section = re.search(r"^## 1 .*?(?=^## 2 )", text, flags=re.M | re.S)
    assert section, "docs/calibration.md has no section 1 followed by a section 2"
    rows = {}
    for line in section.group(0).splitlines():
        m = re.match(r"^\| `(\w+)` \|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    return rows


def test_calibration_doc_lists_every_target_with_the_band_the_code_uses():
    """docs/calibration.md, section 1, and ``lendsim.results.calibration.TARGETS`` cannot drift
    apart: the same figures, and each band as the code has it."""
    rows = _target_table()
    assert set(rows) == {t.key for t in TARGETS}
    for t in TARGETS:
        published, band, source, measured = rows[t.key]
        m = re.fullmatch(r"([\d.]+)-([\d.]+) %", band)
        assert m, (t.key, band)
        low, high = (float(x) / 100 for x in m.groups())
        assert (low, high) == pytest.approx((t.low, t.high), abs=1e-9), (t.key, band)
        assert published and source and measured, t.key


def test_the_odds_table_of_constants_gives_the_codes_values():
    """docs/ODD.md's table of named constants (7.20) names each constant, its value and
    its module: every value is the module's (a constant changed in the code, not the
    table, would leave the ODD describing another model)."""
    import ast
    import importlib

    text = (ROOT / "docs" / "ODD.md").read_text()
    lines = text[text.index("| constant | value | where | reason |"):].splitlines()[2:]
    src = ROOT / "src" / "lendsim"
    checked = 0
    for line in lines:
        if not line.startswith("|"):
            break
        name, value, where = (c.strip().strip("`") for c in line.strip("|").split("|")[:3])
        hits = [p for p in src.rglob("*.py") if p.as_posix().endswith("/" + where)]
        assert len(hits) == 1, (name, where, hits)
        module = ".".join(hits[0].relative_to(src.parent).with_suffix("").parts)
        actual = getattr(importlib.import_module(module), name)
        assert actual == ast.literal_eval(value), (name, value, actual)
        checked += 1
    assert checked >= 10
