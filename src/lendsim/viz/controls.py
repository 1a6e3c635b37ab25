"""The dashboard's levers and how each maps onto scenario parameters.

Every control is one keyword argument of :class:`lendsim.viz.model.DashboardModel` (so Mesa's
SolaraViz can rebuild the model from the slider values) and one or more dotted scenario keys
(``"regulator.apr_cap"``): the dashboard never invents a parameter, it sets the same ones a
scenario file or ``lendsim run --set`` sets, on top of the default scenario (``baseline.toml``).
Defaults are read from that scenario, so they follow the model's calibration
(docs/calibration.md).

References:
    docs/ODD.md, 7.18 (policy instruments) and section 2 (networks); issue 6, item 2 (controls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lendsim.errors import ScenarioError
from lendsim.simulation.params import PLATFORM_TYPES, Scenario
from lendsim.simulation.scenario import load_scenario

#: Size of the market the dashboard simulates unless told otherwise: small enough to redraw
#: in well under 200 ms per step, large enough for stable rates (issue 6, item 6).
DEFAULT_BORROWERS = 1000
#: Banks in the dashboard's market: fewer than the research default (20) so that every bank
#: stays readable in the network picture.
DASHBOARD_BANKS = 10

#: Platform mixes offered by the "platform types" control: label -> weight of each type at
#: start (``platforms.<type>.weight``); ``None`` keeps the scenario's own weights.
PLATFORM_MIXES: dict[str, dict[str, float] | None] = {
    "market mix": None,
    "embedded only": {"embedded": 1.0},
    "micro-lenders only": {"micro_lender": 1.0},
    "consumer finance only": {"consumer_finance": 1.0},
    "micro-lenders and consumer finance": {"micro_lender": 1.0, "consumer_finance": 1.0},
}
if "p2p" in PLATFORM_TYPES:  # P2P platforms (investor-funded) where the model has them
    PLATFORM_MIXES["P2P only"] = {"p2p": 1.0}
    PLATFORM_MIXES["micro-lenders and P2P"] = {"micro_lender": 1.0, "p2p": 1.0}


#: The social-contagion rules (``contagion.social_mode``): a peer effect in each borrower's
#: default hazard, or Watts's (2002) threshold rule, under which defaults cascade.
SOCIAL_RULES = {"peer effect": "hazard", "cascade (threshold)": "threshold"}
_RULE_LABELS = {v: k for k, v in SOCIAL_RULES.items()}

#: What the credit bureau reports about the borrowers it covers ("bureau reports" control):
#: label -> (``regulator.share_arrears``, ``regulator.share_defaults``). Debts and lenders
#: are always reported; arrears and defaults are the bureau's negative data, which some
#: bureaus do without (positive data only) and industry blacklists carry alone (docs/ODD.md,
#: 7.6; docs/calibration.md, section 3, fact 3).
BUREAU_REPORTS: dict[str, tuple[bool, bool]] = {
    "debts, arrears and defaults": (True, True),
    "debts and defaults": (False, True),
    "debts and arrears": (True, False),
    "debts only (positive data)": (False, False),
}
_REPORTS_LABELS = {v: k for k, v in BUREAU_REPORTS.items()}


@dataclass(frozen=True)
class Control:
    """One lever: its keyword, label, widget and range.

    Attributes:
        name: keyword argument of ``DashboardModel``.
        label: text beside the widget.
        widget: Mesa ``UserInputs`` type: ``SliderFloat``, ``SliderInt``, ``Select`` or
            ``InputText``.
        default: starting value.
        lo, hi, step: slider range and increment (sliders only).
        values: choices (``Select`` only).
        key: dotted scenario key it sets ("" when it maps through a function below).
        percent: a share, shown as a percentage.
    """

    name: str
    label: str
    widget: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    values: tuple[str, ...] = ()
    key: str = ""
    percent: bool = False

    def shown(self, value: Any) -> str:
        """The value as the dashboard shows it beside the label.

        Examples:
            >>> CONTROL_BY_NAME["rate_cap"].shown(0.36), CONTROL_BY_NAME["n_borrowers"].shown(1500)
            ('36%', '1,500')
            >>> CONTROL_BY_NAME["peer_effect"].shown(2.5), CONTROL_BY_NAME["seed"].shown("7")
            ('2.5', '7')
        """
        if self.widget == "SliderInt":
            return f"{int(value):,}"
        if self.widget == "SliderFloat":
            if self.percent:
                return f"{100 * float(value):.0f}%"
            digits = max(0, -math.floor(math.log10(self.step))) if self.step else 2
            return f"{float(value):.{digits}f}"
        return str(value)

    def user_param(self, value: Any = None) -> dict:
        """The ``model_params`` entry SolaraViz turns into a widget; ``value`` may be a
        ``solara.Reactive`` so that lessons can move the widget (see ``app.py``)."""
        out = {"type": self.widget, "label": self.label,
               "value": self.default if value is None else value}
        if self.widget.startswith("Slider"):
            out.update(min=self.lo, max=self.hi, step=self.step)
        elif self.widget == "Select":
            out["values"] = list(self.values)
        return out


def _controls(s: Scenario) -> tuple[Control, ...]:
    return (
        Control("n_borrowers", "borrowers", "SliderInt", DEFAULT_BORROWERS, 300, 2000, 100,
                key="borrowers.n"),
        Control("rate_cap", "APR cap", "SliderFloat", s.regulator.apr_cap,
                0.10, 0.60, 0.01, key="regulator.apr_cap", percent=True),
        Control("joint_min_share", "platform share of joint loans", "SliderFloat",
                s.regulator.joint_lending_min_share, 0.0, 1.0, 0.05,
                key="regulator.joint_lending_min_share", percent=True),
        Control("data_sharing", "data sharing (bureau coverage)", "SliderFloat",
                s.regulator.data_sharing, 0.0, 1.0, 0.05, key="regulator.data_sharing",
                percent=True),
        Control("bureau_reports", "what the bureau reports", "Select",
                _REPORTS_LABELS[(s.regulator.share_arrears, s.regulator.share_defaults)],
                values=tuple(BUREAU_REPORTS)),
        Control("n_platforms", "platforms at start", "SliderInt", 6, 1, 20, 1,
                key="platforms.n"),
        Control("platform_mix", "platform types", "Select", "market mix",
                values=tuple(PLATFORM_MIXES)),
        Control("platform_capital", "platform capital (x normal)", "SliderFloat", 1.0,
                0.1, 2.0, 0.1),
        Control("social_degree", "social contacts (mean)", "SliderInt",
                int(round(s.network.social.mean_degree)), 0, 30, 2,
                key="network.social.mean_degree"),
        Control("social_rule", "social contagion rule", "Select",
                _RULE_LABELS[s.contagion.social_mode], values=tuple(SOCIAL_RULES)),
        Control("peer_effect", "peer effect",
                "SliderFloat", s.borrowers.peer_effect, 0.0, 20.0, 0.5,
                key="borrowers.peer_effect"),
        Control("social_threshold", "cascade threshold", "SliderFloat",
                s.contagion.social_threshold, 0.05,
                0.5, 0.01, key="contagion.social_threshold", percent=True),
        Control("seed", "seed", "InputText", str(s.simulation.seed), key="simulation.seed"),
    )


#: The scenario the dashboard's controls modify: the default experiment.
BASE_SCENARIO: Scenario = load_scenario()
CONTROLS: tuple[Control, ...] = _controls(BASE_SCENARIO)
CONTROL_BY_NAME: dict[str, Control] = {c.name: c for c in CONTROLS}


def defaults() -> dict[str, Any]:
    """Every control at its default value.

    Examples:
        >>> defaults()["n_borrowers"], defaults()["seed"]
        (1000, '1')
    """
    return {c.name: c.default for c in CONTROLS}


def parse_seed(value: Any) -> int:
    """A seed from the seed field: a whole number >= 0 (text is accepted, as typed).

    Raises:
        ScenarioError: naming the value and what is allowed.

    Examples:
        >>> parse_seed(" 42 "), parse_seed(7)
        (42, 7)
    """
    text = str(value).strip()
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0 or isinstance(value, bool):
        raise ScenarioError(f"seed = {value!r}: must be a whole number >= 0, e.g. 1")
    return seed


def overrides(values: dict[str, Any], base: Scenario | None = None) -> dict[str, Any]:
    """Dotted scenario keys for control values (missing controls take their defaults), on
    top of ``base`` (default: :data:`BASE_SCENARIO`).

    Raises:
        ScenarioError: an unknown control, platform mix or seed, naming what is allowed.

    Examples:
        >>> o = overrides({"rate_cap": 0.24, "social_degree": 0})
        >>> o["regulator.apr_cap"], o["network.social.kind"], o["banks.n"]
        (0.24, 'none', 10)
    """
    unknown = sorted(set(values) - set(CONTROL_BY_NAME))
    if unknown:
        raise ScenarioError(f"dashboard control {unknown[0]!r}: unknown; allowed: "
                            f"{', '.join(CONTROL_BY_NAME)}")
    base = BASE_SCENARIO if base is None else base
    v = {**defaults(), **values}
    out: dict[str, Any] = {"banks.n": DASHBOARD_BANKS, "output.charts": False}
    for c in CONTROLS:
        if c.key and c.name != "seed":
            out[c.key] = v[c.name]
    out["simulation.seed"] = parse_seed(v["seed"])
    out["platforms.max_n"] = max(base.platforms.max_n, int(v["n_platforms"]))
    if float(v["social_degree"]) <= 0:  # no contacts: no network (and no peer effect)
        out["network.social.kind"] = "none"
        out["network.social.mean_degree"] = 0.0
    rule = v["social_rule"]
    if rule not in SOCIAL_RULES:
        raise ScenarioError(f"social_rule = {rule!r}: unknown; allowed: "
                            f"{', '.join(SOCIAL_RULES)}")
    out["contagion.social_mode"] = SOCIAL_RULES[rule]
    reports = v["bureau_reports"]
    if reports not in BUREAU_REPORTS:
        # the labels hold commas: each is quoted
        raise ScenarioError(f"bureau_reports = {reports!r}: unknown; allowed: "
                            f"{', '.join(map(repr, BUREAU_REPORTS))}")
    out["regulator.share_arrears"], out["regulator.share_defaults"] = BUREAU_REPORTS[reports]
    mix = v["platform_mix"]
    if mix not in PLATFORM_MIXES:
        raise ScenarioError(f"platform_mix = {mix!r}: unknown; allowed: "
                            f"{', '.join(PLATFORM_MIXES)}")
    weights = PLATFORM_MIXES[mix]
    if weights is not None:
        for t in PLATFORM_TYPES:
            out[f"platforms.{t}.weight"] = float(weights.get(t, 0.0))
    scale = float(v["platform_capital"])
    for t in PLATFORM_TYPES:  # the capital lever scales every type's starting equity
        out[f"platforms.{t}.equity_per_borrower"] = (
            base.platforms.type_params(t).equity_per_borrower * scale)
    return out


def build_scenario(values: dict[str, Any], base: Scenario | None = None) -> Scenario:
    """The validated scenario for control values, on top of ``base`` (default:
    :data:`BASE_SCENARIO`).

    Raises:
        ScenarioError: a value out of range, naming the parameter and what is allowed.
    """
    base = BASE_SCENARIO if base is None else base
    return base.with_overrides(overrides(values, base), source="dashboard", name="dashboard")
