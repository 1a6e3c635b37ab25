"""Optional dependencies ("extras"): import one, or say in one line which extra installs it.

The core install (``pip install lendsim``) runs the model, sweeps, compare, validate and
calibrate. The dashboard, Dask and sampling designs need an extra (see pyproject.toml). A
feature that needs one calls :func:`require` instead of importing the module directly:

>>> require("numpy", "viz", "the example").__name__
'numpy'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from lendsim.errors import LendsimError


class MissingExtraError(LendsimError, ImportError):
    """An optional dependency is not installed; the message names the extra to install.

    It is an ``ImportError`` too, so code that catches import failures still does.
    """


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming the extra to install.

    Args:
        module: the module to import, e.g. ``"solara"`` or ``"SALib.sample.sobol"``.
        extra: the lendsim extra that installs it, e.g. ``"viz"``.
        feature: what needs it, for the message, e.g. ``"lendsim viz"``.

    Returns:
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only a missing optional package is the user's to fix with an extra; a module missing
        # inside lendsim itself is a bug and keeps its traceback.
        if exc.name and exc.name.split(".")[0] == "lendsim":
            raise
        missing = (exc.name or module).split(".")[0]  # the package pip installs
        raise MissingExtraError(
            f"{feature} needs the '{extra}' extra ({missing} is not installed): "
            f"pip install 'lendsim[{extra}]'") from None
