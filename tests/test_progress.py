"""Tests for lendsim.progress.ProgressBar."""

from __future__ import annotations

import io

import pytest

from lendsim.progress import ProgressBar


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TTYStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_non_tty_prints_every_ten_percent():
    out = io.StringIO()
    clock = FakeClock()
    with ProgressBar(120, label="run", stream=out, clock=clock) as bar:
        for i in range(120):
            clock.now += 0.5
            bar.update(1, info=f"step {i}")
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert "\r" not in out.getvalue()
    assert lines[0] == "run 12/120 10% ETA 0:00:54 step 11"  # 6 s for 12 -> 54 s for 108
    assert [line.split()[1] for line in lines] == [f"{12 * k}/120" for k in range(1, 11)]
    assert lines[-1] == "run 120/120 100% elapsed 0:01:00 step 119"


def test_non_tty_small_total_and_stopped_early():
    out = io.StringIO()
    with ProgressBar(3, label="sweep", stream=out) as bar:
        bar.update(1)
        bar.update(1)
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3"]  # no extra line on exit
    assert lines[1].startswith("sweep 2/3 66% ETA")

    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with ProgressBar(100, stream=out) as bar:
            bar.update(15)
            bar.update(3)
            raise KeyboardInterrupt
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["15/100", "18/100"]  # closing line on exit


def test_disabled_prints_nothing():
    out = io.StringIO()
    with ProgressBar(10, stream=out, enabled=False) as bar:
        for _ in range(10):
            bar.update(1, info="x")
    assert out.getvalue() == ""
    tty = TTYStringIO()
    with ProgressBar(10, stream=tty, enabled=False) as bar:
        bar.update(10)
    assert tty.getvalue() == ""


def test_tty_redraws_in_place_rate_limited():
    out = TTYStringIO()
    clock = FakeClock()
    with ProgressBar(100, label="run", stream=out, width=10, clock=clock) as bar:
        for _ in range(100):
            clock.now += 0.01  # 100 updates a second -> about 10 redraws a second
            bar.update(1)
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert text.endswith("\n") and text.count("\n") == 1
    # Initial frame, ~10 timed redraws over one second and the final one (update at 100%).
    assert 10 <= len(frames) <= 13
    assert frames[0].startswith("run [..........] 0/100 0% ETA -:--:--")
    assert frames[-1].rstrip("\n") == "run [##########] 100/100 100% elapsed 0:00:01"
    assert "run [#####.....] 5" in text  # a frame drawn around half way


def test_tty_pads_over_longer_previous_line():
    out = TTYStringIO()
    clock = FakeClock()
    with ProgressBar(2, stream=out, width=4, clock=clock) as bar:
        clock.now = 1.0
        bar.update(1, info="a very long information text")
        clock.now = 2.0
        bar.update(1, info="short")
    frames = out.getvalue().rstrip("\n").split("\r")[1:]
    assert len(frames) == 3  # initial, two updates; nothing changed before exit: no redraw
    assert len(frames[2]) == len(frames[1])  # old, longer text wiped with spaces
    assert frames[2].rstrip() == "run [####] 2/2 100% elapsed 0:00:02 short"


def test_zero_total_and_overshoot():
    out = io.StringIO()
    with ProgressBar(0, stream=out):
        pass
    assert out.getvalue() == "run 0/0 100% elapsed 0:00:00\n"
    out = io.StringIO()
    with ProgressBar(2, stream=out) as bar:
        bar.update(5)
    assert out.getvalue().startswith("run 5/2 100% elapsed")


def test_invalid_arguments():
    with pytest.raises(ValueError, match="total"):
        ProgressBar(-1)
    with pytest.raises(ValueError, match="total"):
        ProgressBar(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="width"):
        ProgressBar(10, width=0)


def test_default_stream_is_stderr(capsys):
    with ProgressBar(1, label="demo") as bar:
        bar.update(1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("demo 1/1 100%")
