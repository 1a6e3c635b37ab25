"""The teaching dashboard: a Solara page built from Mesa's visualisation components.

The sidebar (:func:`Sidebar`) holds Mesa's ``ModelController`` (play/pause, step, reset) and
step counter, and one widget per control, each label showing its value; Mesa's render
interval, "Use Threads" and theme switch are left out (a class needs none of them). Reset
builds a new :class:`DashboardModel` from the controls' values (``PARAMS``). The main area is
this module's :func:`MarketView`: lessons, the shock buttons, the network picture and six live
charts.

Lessons move the widgets by setting ``solara.Reactive`` values that the widgets read; the
reactive values are per browser session (solara scopes module-level reactives to a kernel), so
two browsers do not share controls.

Run it with ``lendsim viz`` (or ``solara run lendsim.viz.app``).

References:
    Mesa 3 visualisation (``mesa.visualization.SolaraViz``); Solara state management
    (reactive variables); issue 6, items 1-5.
"""

from __future__ import annotations

import html
import warnings

import solara

# Solara's hook checker flags Mesa's ComponentsView (a hook after an early return, taken only
# with no components, which is how the dashboard uses it: it draws its own main area). The
# order of hooks cannot change between renders here, so the warning is noise at every start.
warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found")

from mesa.visualization.solara_viz import ModelController, ShowSteps  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from lendsim.viz import controls, data, figures  # noqa: E402
from lendsim.viz.lessons import LESSON_BY_TITLE, LESSONS  # noqa: E402
from lendsim.viz.model import (DashboardModel,  # noqa: E402
                               close_largest_platform, start_income_shock)

TITLE = "lendsim: an online consumer-credit market"

#: The controls' current values (per browser session).
CONTROL_STATE: dict[str, solara.Reactive] = {c.name: solara.reactive(c.default)
                                             for c in controls.CONTROLS}
#: What Reset builds the model from (Mesa's ModelController reads it): the controls' values.
PARAMS = solara.reactive(controls.defaults())
#: Pause between months while playing, in milliseconds.
PLAY_INTERVAL = solara.reactive(150)
LESSON = solara.reactive(LESSONS[0].title)
SHOW_LENDING = solara.reactive(False)
SHOW_FUNDING = solara.reactive(True)
SHOW_SOCIAL = solara.reactive(False)
NOTICE = solara.reactive("")


def current_values() -> dict:
    """The controls' values now."""
    return {name: r.value for name, r in CONTROL_STATE.items()}


@solara.component
def Page():
    """The dashboard page (what ``solara run lendsim.viz.app`` serves)."""
    model = solara.use_reactive(solara.use_memo(lambda: DashboardModel(**current_values()),
                                                []))
    Sidebar(model)
    MarketView(model)


@solara.component
def Sidebar(model: solara.Reactive):
    """Mesa's play/step/reset buttons and step counter, and the model's controls, each
    showing its value. Mesa's SolaraViz sidebar also offers a render interval, threads and a
    theme switch; a class does not need them, so this sidebar leaves them out."""
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            solara.SliderInt(f"pause between months: {PLAY_INTERVAL.value} ms",
                             value=PLAY_INTERVAL, min=50, max=1000, step=50)
            ModelController(model, model_parameters=PARAMS, play_interval=PLAY_INTERVAL,
                            render_interval=solara.use_reactive(1),
                            use_threads=solara.use_reactive(False))
        with solara.Card("Model parameters"):
            solara.Text("Changes apply at Reset.", style={"font-size": "13px"})
            for c in controls.CONTROLS:
                ControlWidget(c)
        with solara.Card("Information"):
            ShowSteps(model.value)


@solara.component
def ControlWidget(c: controls.Control):
    """One control, its label showing its current value; a change takes effect at Reset."""
    state = CONTROL_STATE[c.name]

    def on_value(value):
        state.set(value)
        PARAMS.set({**PARAMS.value, c.name: value})

    if c.widget.startswith("Slider"):
        widget = solara.SliderInt if c.widget == "SliderInt" else solara.SliderFloat
        widget(f"{c.label}: {c.shown(state.value)}", value=state.value, on_value=on_value,
               min=c.lo, max=c.hi, step=c.step)
    elif c.widget == "Select":
        solara.Select(c.label, value=state.value, values=list(c.values), on_value=on_value)
    else:
        solara.InputText(c.label, value=state.value, on_value=on_value)


@solara.component
def MarketView(model: solara.Reactive):
    """Everything in the main area; redrawn after every step (Mesa's ``update_counter``)."""
    update_counter.get()
    m = model.value
    solara.Style(_CSS)
    with solara.Column(gap="8px", classes=["lendsim-main"]):
        Lessons(model)
        Headline(m)
        with solara.Columns([5, 7], gutters_dense=True):
            NetworkCard(m)
            ChartsCard(m)


@solara.component
def Lessons(model: solara.Reactive):
    """Pick a lesson (sets every control and starts a fresh model), read what to watch, and
    the buttons the lessons ask for."""
    lesson = LESSON_BY_TITLE[LESSON.value]

    def choose(title):
        LESSON.set(title)
        values = LESSON_BY_TITLE[title].control_values()
        for name, value in values.items():
            CONTROL_STATE[name].set(value)
        PARAMS.set(current_values())
        NOTICE.set("")
        model.set(DashboardModel(**values))

    def shock():
        NOTICE.set(f"Income shock from month {start_income_shock(model.value)} "
                   f"({model.value.params.macro.shock_months} months).")

    def close():
        step, kind = close_largest_platform(model.value)
        NOTICE.set(f"The largest platform ({kind.replace('_', ' ')}) closes in month {step}.")

    with solara.Card(classes=["lendsim-lessons"], margin=0):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Lesson", values=[le.title for le in LESSONS], value=LESSON.value,
                          on_value=choose, style={"max-width": "260px"})
            solara.Button("Income shock now", on_click=shock, color="warning",
                          classes=["lendsim-shock"])
            solara.Button("Close the largest platform", on_click=close, color="error",
                          classes=["lendsim-close"])
        solara.HTML(unsafe_innerHTML=html.escape(lesson.text), classes=["lendsim-lesson-text"])
        if NOTICE.value:
            solara.Info(NOTICE.value, dense=True)


@solara.component
def Headline(m):
    """The month and the latest headline figures, in words."""
    update_counter.get()  # components re-render on their own subscriptions, not the parent's
    h = data.headline(m)
    # before the first step (and its burn-in) the month is 0, not the burn-in's first
    parts = [f'<b class="lendsim-month">Month {max(m.t, 0)}</b>']
    if h:
        parts += [f"credit RMB {h['credit_outstanding'] / 1e6:,.2f}m",
                  f"approval {100 * h['approval_rate']:.0f}%",
                  f"30+ delinquency {100 * h['delinquency_30']:.1f}%",
                  f"platforms {h.get('n_platforms_active', 0):.0f}",
                  f"APR cap {100 * h.get('apr_cap', float('nan')):.0f}%"]
        if h.get("is_income_shock"):
            parts.append("<b>income shock</b>")
    solara.HTML(unsafe_innerHTML=" &middot; ".join(parts), classes=["lendsim-headline"])


@solara.component
def NetworkCard(m):
    """The network picture, its edge toggles and its legend."""
    update_counter.get()
    png = figures.network_png(m, show_lending=SHOW_LENDING.value,
                              show_funding=SHOW_FUNDING.value, show_social=SHOW_SOCIAL.value)
    counts = figures.pictures(m)[0].counts
    with solara.Card("The market as a network", margin=0):
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.Checkbox(label="lending (borrower-platform)", value=SHOW_LENDING)
            solara.Checkbox(label="funding (bank-platform)", value=SHOW_FUNDING)
            solara.Checkbox(label="social ties", value=SHOW_SOCIAL)
        solara.Image(png, width="100%", classes=["lendsim-network"])
        legend = " ".join(_legend_item(label, colour, shape, counts.get(label.replace(" ", "_")))
                          for label, colour, shape in figures.legend_entries(m))
        solara.HTML(unsafe_innerHTML=legend, classes=["lendsim-legend"])
        solara.Text("Banks in the centre, platforms around them (size: lending), borrowers "
                    "outside, with social contacts side by side.", style={"font-size": "12px"})


def _legend_item(label: str, colour: str, shape: str, count: int | None) -> str:
    radius = {"dot": "50%", "circle": "50%", "square": "2px"}[shape]
    size = 9 if shape == "dot" else 12
    n = f" ({count})" if count is not None else ""
    return (f'<span style="white-space:nowrap;margin-right:10px">'
            f'<span style="display:inline-block;width:{size}px;height:{size}px;'
            f'border-radius:{radius};background:{colour};margin-right:4px"></span>'
            f"{label}{n}</span>")


@solara.component
def ChartsCard(m):
    """The six live charts."""
    update_counter.get()
    pngs = figures.charts_png(m)
    with solara.Card("Live charts", margin=0):
        with solara.ColumnsResponsive(12, large=6):
            for i, png in enumerate(pngs):
                solara.Image(png, width="100%", classes=["lendsim-chart", f"lendsim-chart-{i}"])


_CSS = """
.lendsim-main { padding: 4px 8px; }
.lendsim-headline { font-size: 16px; }
.lendsim-lesson-text { font-size: 15px; }
.lendsim-legend { font-size: 13px; line-height: 1.8; }
.lendsim-lessons .v-card__text { padding-top: 4px; }
"""

page = Page
