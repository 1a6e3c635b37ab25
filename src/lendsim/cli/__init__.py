"""The ``lendsim`` command: a dispatcher over the subcommands of this package.

    lendsim run [FILE.toml] [--steps N] [--seed S] [--set k=v ...] [--out DIR]   (cli/run.py)
    lendsim params                                                               (cli/run.py)
    lendsim validate | sweep | status | report | compare | calibrate | attribute | dashboard

Each module listed in ``SUBCOMMANDS`` parses its own arguments and prints; the work is done by
library functions elsewhere in lendsim (``lendsim.api``, ``lendsim.experiments``,
``lendsim.results``, ``lendsim.validation``), which never print.

Bad input gets one line naming the field, the value and what is allowed, and exit status 2;
nothing is written.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from lendsim.errors import DamagedRunWarning, LendsimError

__all__ = ["SUBCOMMANDS", "main"]

# "module:function", where the function takes the argparse subparsers object, adds its parsers
# and sets ``handler=<callable(args) -> int>``. Those modules import their heavy dependencies
# inside the handler, not at module level, so that `lendsim --help` stays fast.
SUBCOMMANDS: tuple[str, ...] = (
    "lendsim.cli.run:add_parser",
    "lendsim.cli.validate:add_parser",
    "lendsim.cli.sweep:add_parser",
    "lendsim.viz.cli:add_parser",
    "lendsim.cli.compare:add_parser",
    "lendsim.cli.calibrate:add_parser",
    "lendsim.cli.attribute:add_parser",
    "lendsim.cli.examples:add_parser",
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="lendsim",
        description="Agent-based simulation of an internet consumer-finance market.")
    from lendsim import __version__

    ap.add_argument("--version", action="version", version=f"lendsim {__version__}")
    sub = ap.add_subparsers(dest="command")
    for entry in SUBCOMMANDS:
        module, func = entry.split(":")
        getattr(importlib.import_module(module), func)(sub)
    return ap


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """lendsim's own warnings as one line; others as Python prints them."""
    if issubclass(category, DamagedRunWarning):
        print(f"lendsim: warning: {message}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Run the ``lendsim`` command line; returns the exit status."""
    import shlex

    import lendsim.api

    args = _parser().parse_args(argv)
    lendsim.api.COMMAND_LINE = shlex.join(["lendsim", *(sys.argv[1:] if argv is None else argv)])
    if args.command is None:  # `lendsim` alone runs the default experiment
        args = _parser().parse_args(["run"])
    warnings.showwarning = _show_warning
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C: folders are atomic, so nothing half-written stays
        print("lendsim: interrupted", file=sys.stderr)
        return 130
    except LendsimError as exc:
        print(f"lendsim: error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"lendsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        warnings.showwarning = _default_showwarning


if __name__ == "__main__":
    raise SystemExit(main())
