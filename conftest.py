"""Collection of the package's doctests: modules that need a missing extra are skipped (the
core install has no Solara; `lendsim viz` says which extra to install)."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("solara") is None:
    collect_ignore.append("src/lendsim/viz/app.py")
