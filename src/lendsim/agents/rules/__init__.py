"""Pure array functions the agents call: arrays, parameters and random draws in, arrays out.

They never touch the model. Each has a slow per-borrower version in the tests.
"""

import numpy as np


def cumsum_within_groups(group_sorted: np.ndarray, values_sorted: np.ndarray) -> np.ndarray:
    """Running total of ``values_sorted`` that restarts at every new value of
    ``group_sorted`` (both already sorted by group).

    Examples:
        >>> cumsum_within_groups(np.array([0, 0, 1, 1, 1]), np.array([1., 2., 3., 4., 5.]))
        array([ 1.,  3.,  3.,  7., 12.])
    """
    n = len(values_sorted)
    cum = np.cumsum(values_sorted)
    starts = np.r_[0, np.flatnonzero(np.diff(group_sorted)) + 1]
    base = np.repeat(np.r_[0.0, cum[starts[1:] - 1]], np.diff(np.r_[starts, n]))
    return cum - base
