"""``lendsim examples [NAME] [--copy DEST]``: the scenario and experiment files shipped with
lendsim, each with the question it answers; one printed, or copied out to edit.

Any command that takes a file takes a shipped file's bare name too: ``lendsim run
income_shock``, ``lendsim sweep competition``, ``lendsim compare episode_rate_cap_lpr``.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from lendsim.errors import LendsimError


def add_parser(sub) -> None:
    """Register ``lendsim examples``."""
    p = sub.add_parser("examples", help="list the scenario and experiment files shipped with "
                       "lendsim, show one, or copy one out to edit")
    p.add_argument("name", nargs="?", help="an example's name: print it")
    p.add_argument("--copy", metavar="DEST", help="copy the example to DEST (a file, or a "
                   "folder to copy it into) to edit; it still extends the shipped "
                   "baseline.toml")
    p.set_defaults(handler=_examples)


def _examples(args) -> int:
    from lendsim.simulation.scenario import examples, packaged_scenario

    listed = dict(examples())
    if args.name is None:
        if args.copy:
            raise LendsimError("--copy needs an example's name: lendsim examples NAME "
                               "--copy DEST")
        width = max(len(n) for n in listed) + 2
        print(f"{'example':{width}}question it answers")
        for name, question in listed.items():
            lines = textwrap.wrap(question, 98 - width) or [""]
            print(f"{name:{width}}{lines[0]}")
            for line in lines[1:]:
                print(" " * width + line)
        print("\nrun a scenario: lendsim run NAME; an experiment: lendsim sweep NAME or "
              "lendsim compare NAME\nshow one: lendsim examples NAME; edit one: lendsim "
              "examples NAME --copy DEST")
        return 0
    src = packaged_scenario(args.name)
    if src is None:
        import difflib

        close = difflib.get_close_matches(args.name.removesuffix(".toml"), list(listed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; `lendsim examples` lists them"
        raise LendsimError(f"example {args.name!r}: no such example{hint}")
    if not args.copy:
        print(src.read_text(encoding="utf-8"), end="")
        return 0
    dest = Path(args.copy)
    if dest.is_dir():
        dest = dest / src.name
    if dest.exists():
        raise LendsimError(f"--copy {args.copy}: {dest} already exists; give another name")
    if not dest.parent.is_dir():
        raise LendsimError(f"--copy {args.copy}: folder {dest.parent} does not exist")
    shutil.copyfile(src, dest)
    print(f"copied {src.name} to {dest}")
    return 0
