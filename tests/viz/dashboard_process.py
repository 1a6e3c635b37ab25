"""Start the real `lendsim viz` in a subprocess on a free port of 127.0.0.1 and stop it (shared
by the server and browser tests)."""

import contextlib
import re
import socket
import subprocess
import sys
import time
from pathlib import Path


@contextlib.contextmanager
def running_dashboard(folder: Path, env: dict, timeout: float):
    """`lendsim viz --port 0` with ``env``, its output in ``folder/server.log``; yields its
    address (``http://127.0.0.1:PORT/``) once it accepts connections. ``timeout`` covers the
    start, which may include fetching the front-end files."""
    log_path = folder / "server.log"
    log = open(log_path, "w")
    exe = Path(sys.executable).with_name("lendsim")
    proc = subprocess.Popen([str(exe), "viz", "--port", "0", "--no-browser"], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        url = None
        while time.monotonic() < deadline and url is None:
            found = re.search(r"http://127\.0\.0\.1:\d+/", log_path.read_text())
            url = found.group(0) if found else None
            time.sleep(0.1)
        assert url, "lendsim viz printed no address: " + log_path.read_text()
        port = int(url.rsplit(":", 1)[1].rstrip("/"))
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
