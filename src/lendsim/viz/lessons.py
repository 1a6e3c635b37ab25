"""Lessons: preset scenarios for a class, each with what to watch.

Selecting a lesson sets every control (the rest back to their defaults, the seed included, so
the class sees the run the text describes) and builds a fresh model. Some lessons ask the
teacher to press a button at a month (``action``, ``action_step``). The claims in each text are
checked by ``tests/viz/test_lessons.py`` on the lesson's own settings and seed, against the
same run without the lesson's change.

References:
    issue 6, item 5; the income shock of early 2020 and the P2P and platform failures of
    2018-2020 (docs/calibration.md, 2.1 and 2.4); Watts (2002), "A simple model of global
    cascades on random networks", PNAS 99(9) (the cascade rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lendsim.viz import controls


@dataclass(frozen=True)
class Lesson:
    """A preset: control values and two or three sentences saying what to watch.

    Attributes:
        key: short identifier.
        title: what the selector shows.
        text: what to do and what to watch.
        settings: control values that differ from the defaults.
        action: a button to press during the run ("income_shock", "close_platform") or "".
        action_step: the month after which to press it.
    """

    key: str
    title: str
    text: str
    settings: dict[str, Any] = field(default_factory=dict)
    action: str = ""
    action_step: int = 0

    def control_values(self) -> dict[str, Any]:
        """Every control's value under this lesson."""
        return {**controls.defaults(), **self.settings}


LESSONS: tuple[Lesson, ...] = (
    Lesson("market", "The market as it is",
           "The default market: one large embedded platform, micro-lenders and consumer-"
           "finance companies, funded mostly by partner banks under a 36% rate cap. Press play "
           "and watch credit grow and borrowers turn from grey (never borrowed) to green; "
           "a few turn orange (a missed payment) and red (default)."),
    Lesson("rate_cap", "A rate cap",
           "The all-in APR cap is cut from 36% to 12%. A lender approves a borrower only if "
           "the price that just covers its costs and the borrower's expected loss is within "
           "the cap, so riskier borrowers are declined while safer ones keep borrowing, at "
           "most 12%: watch the subprime approval rate fall below the overall rate and below "
           "that of 'The market as it is', and credit end lower. Do fewer borrowers default? "
           "The riskiest are no longer lent to, but those refused can no longer borrow from "
           "one lender to repay another: try seeds 1, 2 and 3 and compare the default rate, "
           "higher on each, as the dear cash loans that tided borrowers over are gone.",
           {"rate_cap": 0.12}),
    Lesson("default_wave", "A default wave",
           "Borrowers stop paying once a third of their contacts are in default (a "
           "cascade rule); contacts sit side by side around the picture. Press play, and after month "
           "12 press 'Income shock now': watch red spread along the ring, delinquency climb "
           "and a 'social' band grow in the losses chart. With another seed the wave may "
           "fizzle out, or start without the shock: cascades are fragile.",
           {"social_rule": "cascade (threshold)", "social_threshold": 0.33, "seed": "5"},
           action="income_shock", action_step=12),
    Lesson("platform_failure", "A platform failure",
           "After month 12 press 'Close the largest platform': the big embedded platform "
           "(blue) fails and turns grey. Watch its band vanish from the market shares and "
           "the others widen, the approval rate drop as its customers look elsewhere, and a "
           "'platform failure' band appear in the losses chart as its borrowers stop paying "
           "a lender that is gone.",
           action="close_platform", action_step=12),
    Lesson("data_sharing", "Data sharing",
           "Every platform now sees, through a credit bureau, what a borrower owes elsewhere "
           "and whether they defaulted anywhere. Watch the approval rate fall below that of "
           "'The market as it is' and credit grow more slowly. Do defaults fall too? A "
           "borrower refused everywhere can no longer borrow from one lender to repay another.",
           {"data_sharing": 1.0}),
)
LESSON_BY_KEY: dict[str, Lesson] = {lesson.key: lesson for lesson in LESSONS}
LESSON_BY_TITLE: dict[str, Lesson] = {lesson.title: lesson for lesson in LESSONS}
