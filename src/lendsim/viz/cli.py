"""``lendsim viz [--port P] [--host 127.0.0.1] [--no-browser]``: serve the dashboard.

It listens on 127.0.0.1 unless ``--host`` says otherwise (a classroom projector needs no
network access; serving other machines is a deliberate choice), prints its address and runs
until interrupted. Solara and Mesa's visualisation are imported only when it runs.
"""

from __future__ import annotations

import errno
import os
import socket
import sys

from lendsim.errors import LendsimError
from lendsim.extras import require

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP = "lendsim.viz.app"


def add_parser(sub) -> None:
    """Register ``lendsim viz``."""
    p = sub.add_parser("viz", help="open the teaching dashboard in the browser")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}, this machine only; "
                        "0.0.0.0 serves every network interface)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(handler=_viz)


def check_address(host: str, port: int) -> int:
    """Validate ``--host``/``--port`` by binding them once; returns the port (a free one when
    ``port`` is 0).

    Raises:
        LendsimError: port out of range, host unknown, or the port in use.
    """
    if not 0 <= port <= 65535:
        raise LendsimError(f"--port = {port}: must be 0..65535 (0: any free port)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise LendsimError(f"--host = {host!r}: not an address of this machine; "
                           f"e.g. {DEFAULT_HOST}") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name != "nt":
            # as the server itself binds (uvicorn sets SO_REUSEADDR): a port whose last
            # connections are in TIME_WAIT, after a restart, is free; one with a listener is not
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:  # the host, not the port, is the problem
                raise LendsimError(f"--host = {host!r}: not an address of this machine; "
                                   f"e.g. {DEFAULT_HOST}") from None
            raise LendsimError(f"--port = {port}: cannot listen on {host}:{port} "
                               f"({exc.strerror}); choose another port, or 0 for any free "
                               "port") from None
        return s.getsockname()[1]


def url(host: str, port: int) -> str:
    """The address to open, e.g. ``http://127.0.0.1:8765/``.

    Examples:
        >>> url("127.0.0.1", 8765), url("::1", 80)
        ('http://127.0.0.1:8765/', 'http://[::1]:80/')
    """
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _viz(args) -> int:
    port = check_address(args.host, args.port)  # bad input stops here, before anything runs
    require("solara", "viz", "lendsim viz")
    require("altair", "viz", "lendsim viz")  # Mesa's SolaraViz imports it
    # no telemetry and no version check against PyPI from a classroom machine
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    # Solara's server loads the app named here when first imported (assets and guard do)
    os.environ["SOLARA_APP"] = APP
    from lendsim.viz import assets, guard

    # the page's front-end files from this server, never a blank page: fetched once, or stop
    assets.prepare(log=lambda line: print(line, file=sys.stderr, flush=True))
    from solara.__main__ import run as solara_run

    guard.install(args.host)  # Host and Origin checks; /resourcez hidden

    print(f"lendsim: dashboard at {url(args.host, port)}  (Ctrl+C stops it)", flush=True)
    argv = [APP, "--host", args.host, "--port", str(port), "--no-check-version",
            "--production", "--log-level-uvicorn", "warning",
            "--no-open" if args.no_browser else "--open"]
    try:
        solara_run.main(args=argv, prog_name="lendsim viz", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    print("lendsim: dashboard stopped", file=sys.stderr)
    return 0
