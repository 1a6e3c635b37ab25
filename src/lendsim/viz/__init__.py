"""The teaching dashboard (``lendsim viz``): a browser app on Mesa's SolaraViz.

Modules: ``controls`` (the levers and their scenario keys), ``model`` (``DashboardModel`` and
the shock buttons), ``network`` and ``data`` (what the pictures show, plain numpy), ``figures``
(matplotlib drawing, redrawn by blitting), ``lessons`` (presets), ``app`` (the Solara page) and
``cli`` (the subcommand). Importing this package does not import Solara; ``app`` does.
"""
