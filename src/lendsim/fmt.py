"""How lendsim writes counts in what it prints ("1 replication", "3 replications"). Figures
are formatted by :func:`lendsim.results.summary.format_value`, the one number formatter.
"""

from __future__ import annotations


def plural(n: int, word: str, words: str | None = None) -> str:
    """``n`` and the word, singular for 1.

    Examples:
        >>> plural(1, "replication"), plural(3, "replication"), plural(1_000, "run")
        ('1 replication', '3 replications', '1,000 runs')
        >>> plural(2, "family", "families")
        '2 families'
    """
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
