"""Progress bars for the commands, drawn by tqdm.

On a terminal the bar redraws in place with the count, the percentage, the time left (ETA)
and a short status text::

    months  10%|###       | 12/120 [00:01<00:05, credit 27.0M  30+ 1.08%]

When the stream is not a terminal (CI logs, files, pipes) it writes one plain line each time
the count crosses a further 10 % of the total, so logs stay short. ``enabled=False`` (the
commands' ``--quiet``) writes nothing.

Examples:
    >>> import io
    >>> out = io.StringIO()
    >>> with ProgressBar(4, label="demo", stream=out) as bar:
    ...     for _ in range(4):
    ...         bar.update(1)
    >>> out.getvalue().splitlines()[-1].split(" ETA")[0]
    'demo 4/4 100%'
"""

from __future__ import annotations

import math
import sys
from typing import TextIO

from tqdm import tqdm

__all__ = ["ProgressBar"]

#: The line written to a stream that is not a terminal (no bar, no carriage returns).
PLAIN_FORMAT = "{desc} {n_fmt}/{total_fmt} {percentage:3.0f}% ETA {remaining}{postfix}"


class _Lines:
    """A stream for tqdm that turns each redraw into one plain line (no carriage returns)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()


class _Bar(tqdm):
    """tqdm, whose clean-up survives a construction cut short.

    Ctrl-C can land inside tqdm's ``__init__``, between the attribute that makes ``close``
    act and the one it reads next (``pos``). The half-built bar is then deleted, tqdm's
    ``__del__`` fails on the missing attribute, and Python prints that error with its
    traceback after lendsim's one line ("lendsim: interrupted"). A bar that was never fully
    built was never drawn: there is nothing to close.
    """

    def __del__(self) -> None:
        try:
            super().__del__()
        except AttributeError:
            pass


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):  # closed or detached streams
        return False


class ProgressBar:
    """A progress bar over ``total`` items (a context manager).

    Args:
        total: number of items (months, runs).
        label: text before the bar.
        enabled: False writes nothing (``--quiet``).
        stream: where to write (default: standard error).
    """

    def __init__(self, total: int, label: str = "", enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        if not isinstance(total, int) or total < 0:
            raise ValueError(f"total = {total!r}: must be a whole number >= 0")
        stream = sys.stderr if stream is None else stream
        opts: dict = {"total": total, "desc": label, "disable": not enabled,
                      "leave": True, "dynamic_ncols": True}
        if _is_tty(stream):
            opts.update(file=stream, mininterval=0.1)
        else:  # one line per further 10 %, and the last
            opts.update(file=_Lines(stream), bar_format=PLAIN_FORMAT, mininterval=0,
                        miniters=max(1, math.ceil(total / 10)))
        self._bar = _Bar(**opts)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def update(self, n: int = 1, info: str | None = None) -> None:
        """Count ``n`` more items done; ``info`` replaces the status text after the ETA."""
        if info is not None:
            self._bar.set_postfix_str(info, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        """Finish the bar (shows the final count)."""
        self._bar.close()
