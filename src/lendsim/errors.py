"""Exceptions a user can meet: each message names the field, the value and what is allowed."""


class LendsimError(Exception):
    """Base class for lendsim's user-facing errors."""


class ScenarioError(LendsimError, ValueError):
    """A scenario or experiment file, or an override, is not valid."""


class InvariantError(LendsimError, AssertionError):
    """A balance-sheet identity or a finiteness check failed during a run."""


class DamagedRunWarning(UserWarning):
    """Runs of an experiment folder were skipped because their files are missing or
    unreadable (``lendsim sweep`` reruns them)."""
