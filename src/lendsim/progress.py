"""A tiny, dependency-free terminal progress bar.

On a terminal (TTY) the bar redraws itself in place, at most ``1 / min_interval`` times a second::

    run [#####.........................] 12/120 10% ETA 0:00:05 seed 7

When the stream is not a terminal (CI logs, files, pipes) it prints one plain line each time the
count crosses a further 10% of the total, so logs stay short. ``enabled=False`` prints nothing.

Examples:
    >>> import io
    >>> out = io.StringIO()
    >>> with ProgressBar(4, label="demo", stream=out) as bar:
    ...     for _ in range(4):
    ...         bar.update(1)
    >>> print(out.getvalue().splitlines()[-1])
    demo 4/4 100% elapsed 0:00:00
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar"]


def _format_seconds(seconds: float) -> str:
    """Format a duration as ``H:MM:SS``.

    Args:
        seconds: Duration in seconds (negative values count as 0).

    Returns:
        The duration, e.g. ``"0:01:05"``.

    Examples:
        >>> _format_seconds(3725.4)
        '1:02:05'
    """
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _is_tty(stream: TextIO) -> bool:
    """Return True when ``stream`` is an interactive terminal (never raises)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (OSError, ValueError):  # closed or detached streams
        return False


class ProgressBar:
    """Progress bar for a known number of work items (steps, runs).

    Use it as a context manager; leaving the block finishes the line (TTY) or prints a closing
    line if the last count was not yet reported (non-TTY).

    Args:
        total: Number of items expected (>= 0). A count beyond ``total`` shows as 100%.
        label: Text shown before the bar, e.g. ``"run"`` or ``"sweep"``.
        stream: Where to write; ``None`` means ``sys.stderr`` at construction time.
        enabled: When False nothing is ever written.
        width: Number of characters inside the ``[...]`` bar (TTY only), >= 1.
        min_interval: Minimum seconds between two TTY redraws (0.1 = at most 10 a second). The
            final state is always drawn.
        clock: Monotonic clock returning seconds; injectable for tests.

    Raises:
        ValueError: If ``total`` is negative or not an integer, or ``width`` < 1.

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> with ProgressBar(10, label="steps", stream=out) as bar:
        ...     bar.update(5, info="half")
        >>> print(out.getvalue(), end="")
        steps 5/10 50% ETA 0:00:00 half
    """

    def __init__(
        self,
        total: int,
        label: str = "run",
        stream: TextIO | None = None,
        enabled: bool = True,
        *,
        width: int = 30,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"ProgressBar total must be an integer >= 0, got {total!r}")
        if width < 1:
            raise ValueError(f"ProgressBar width must be >= 1, got {width!r}")
        self.total = total
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.width = width
        self.min_interval = min_interval
        self._clock = clock
        self._is_tty = _is_tty(self.stream) if enabled else False
        self._lock = threading.Lock()
        self.n = 0
        self.info = ""
        self._start = clock()
        self._last_draw: float | None = None
        self._last_len = 0
        self._last_decile = 0  # non-TTY: last 10% band reported
        self._last_printed_n: int | None = None
        self._dirty = False  # TTY: state changed since the last redraw
        self._closed = False

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> ProgressBar:
        """Start timing and, on a terminal, draw the empty bar."""
        with self._lock:
            self._start = self._clock()
            if self.enabled and self._is_tty:
                self._draw_tty(self._start)
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Finish the output (see :meth:`close`)."""
        self.close()

    # -- public API --------------------------------------------------------------------------

    def update(self, n: int = 1, info: str | None = None) -> None:
        """Advance the count and redraw if due.

        Args:
            n: Items completed since the last call (may be 0 to only change ``info``).
            info: Short text shown after the ETA; ``None`` keeps the previous text.
        """
        with self._lock:
            self.n += n
            if info is not None:
                self.info = str(info)
            if not self.enabled or self._closed:
                return
            now = self._clock()
            if self._is_tty:
                self._dirty = True
                due = self._last_draw is None or now - self._last_draw >= self.min_interval
                if due or self._done:
                    self._draw_tty(now)
            else:
                decile = self._decile
                if decile > self._last_decile:
                    self._last_decile = decile
                    self._write_line(now)

    def close(self) -> None:
        """Draw the final state and end the line. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self.enabled:
                return
            now = self._clock()
            if self._is_tty:
                if self._dirty or self._last_draw is None:
                    self._draw_tty(now)
                self.stream.write("\n")
                self.stream.flush()
            elif self._last_printed_n != self.n:
                self._write_line(now)

    # -- internals -------------------------------------------------------------------------

    @property
    def _done(self) -> bool:
        return self.n >= self.total

    @property
    def _fraction(self) -> float:
        if self.total == 0:
            return 1.0
        return min(1.0, max(0.0, self.n / self.total))

    @property
    def _decile(self) -> int:
        """Completed 10% bands, 0..10 (integer arithmetic, so 10/100 is exactly band 1)."""
        if self.total == 0:
            return 10
        return min(10, max(0, (self.n * 10) // self.total))

    def _status(self, now: float) -> str:
        """Count, percentage, ETA (or elapsed time when done) and info, without the bar."""
        elapsed = now - self._start
        if self._done:
            timing = f"elapsed {_format_seconds(elapsed)}"
        elif self.n > 0:
            timing = f"ETA {_format_seconds(elapsed / self.n * (self.total - self.n))}"
        else:
            timing = "ETA -:--:--"
        text = f"{self.n}/{self.total} {int(self._fraction * 100)}% {timing}"
        if self.info:
            text += f" {self.info}"
        return text

    def _draw_tty(self, now: float) -> None:
        filled = int(self._fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{self.label} [{bar}] {self._status(now)}"
        pad = " " * max(0, self._last_len - len(line))  # wipe the tail of a longer old line
        self.stream.write(f"\r{line}{pad}")
        self.stream.flush()
        self._last_len = len(line)
        self._last_draw = now
        self._last_printed_n = self.n
        self._dirty = False

    def _write_line(self, now: float) -> None:
        self.stream.write(f"{self.label} {self._status(now)}\n")
        self.stream.flush()
        self._last_printed_n = self.n
