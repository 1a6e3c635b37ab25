"""`lendsim viz` as a server: it refuses foreign Host and Origin headers (DNS rebinding,
cross-site WebSockets), hides /resourcez, fetches the page's front-end files once from the npm
registry, and stops with one line instead of serving a blank page when it cannot.

The server tests run the real `lendsim viz` in a subprocess, with Solara's file cache in a
temporary folder (stub files there stand in for the front-end packages: these tests never
load the page in a browser; tests/viz/test_browser.py does).
"""

import base64
import hashlib
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the 'viz' extra")

from dashboard_process import running_dashboard  # noqa: E402

from lendsim.viz import assets  # noqa: E402
from lendsim.viz.guard import allowed_hosts, hostname  # noqa: E402

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


def _stub_cache(root: Path) -> None:
    for pkg, probe in assets.required().items():
        (root / pkg / probe).parent.mkdir(parents=True, exist_ok=True)
        (root / pkg / probe).write_text("/* stub */")


def _env(cache: Path, **extra) -> dict:
    return {**os.environ, "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cache),
            "SOLARA_ASSETS_CDN": UNREACHABLE + "/npm/", **extra}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`lendsim viz` on a free port of 127.0.0.1; yields its port."""
    tmp = tmp_path_factory.mktemp("viz")
    _stub_cache(tmp / "cdn")
    with running_dashboard(tmp, _env(tmp / "cdn"), timeout=60) as url:
        yield int(url.rsplit(":", 1)[1].rstrip("/"))


def _get(port, path="/", **headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host="Host" in headers)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def _websocket_status(port, host, origin=None) -> int:
    """The status of a WebSocket handshake to the page's kernel channel (101 = accepted)."""
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET /jupyter/api/kernels/k1/channels?session_id=s1 HTTP/1.1\r\nHost: {host}\r\n"
           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           "Sec-WebSocket-Version: 13\r\n" + (f"Origin: {origin}\r\n" if origin else "")
           + "\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(req.encode())
        line = s.recv(200).split(b"\r\n")[0].decode()
    return int(line.split()[1])


def test_the_page_is_served_to_its_own_address(server):
    assert _get(server, Host=f"127.0.0.1:{server}")[0] == 200
    assert _get(server, Host=f"localhost:{server}")[0] == 200


def test_a_foreign_host_header_is_refused(server):
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1."""
    status, body = _get(server, Host=f"evil.example:{server}")
    assert status == 403 and "evil.example" in body


def test_a_cross_origin_request_is_refused(server):
    assert _get(server, Host=f"127.0.0.1:{server}", Origin="http://evil.example")[0] == 403
    assert _get(server, Host=f"127.0.0.1:{server}",
                Origin=f"http://127.0.0.1:{server}")[0] == 200


def test_a_cross_origin_websocket_is_refused(server):
    host = f"127.0.0.1:{server}"
    assert _websocket_status(server, host, origin="http://evil.example") == 403
    assert _websocket_status(server, "evil.example", origin=None) == 403
    assert _websocket_status(server, host, origin=f"http://{host}") == 101


def test_server_internals_are_hidden(server):
    assert _get(server, "/resourcez", Host=f"127.0.0.1:{server}")[0] == 404


def test_allowed_hosts():
    assert allowed_hosts("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts("192.168.1.5") == {"127.0.0.1", "localhost", "::1", "192.168.1.5"}
    assert socket.gethostname().lower() in allowed_hosts("0.0.0.0")
    assert hostname("[::1]:8765") == "::1" and hostname("Example.COM.:80") == "example.com"


def test_no_front_end_files_and_no_way_to_get_them_is_one_line(tmp_path):
    """Never a blank page: nothing in the cache, no npm, the registry unreachable."""
    exe = Path(sys.executable).with_name("lendsim")
    env = _env(tmp_path / "cdn", PATH=str(tmp_path), npm_config_registry=UNREACHABLE)
    out = subprocess.run([str(exe), "viz", "--port", "0", "--no-browser"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("lendsim: error:")]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "front-end files" in lines[0] and "run `lendsim viz` once" in lines[0]
    assert "dashboard at" not in out.stdout


def test_a_cache_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    """A package installed system-wide: the cache folder is not the user's to write."""
    from lendsim.errors import LendsimError

    def denied(need, root, npm):
        raise PermissionError(13, "Permission denied", str(root))

    monkeypatch.setattr(assets, "fetch", denied)
    with pytest.raises(LendsimError, match="Permission denied.*SOLARA_ASSETS_PROXY_CACHE_DIR"):
        assets.prepare(tmp_path / "cdn")


class _Registry(BaseHTTPRequestHandler):
    """A stand-in npm registry: metadata with a tarball URL and its sha512 integrity."""
    packages: dict = {}
    tamper = False  # serve a tarball other than the one the metadata's hash is of

    def do_GET(self):  # noqa: N802 (http.server's name)
        port = self.server.server_address[1]
        for pkg, data in self.packages.items():
            name, version = pkg.rsplit("@", 1)
            if self.path == f"/{name.replace('/', '%2F')}/{version}":
                integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
                body = json.dumps({"dist": {"tarball": f"http://127.0.0.1:{port}/t/{pkg}",
                                            "integrity": integrity}}).encode()
                break
            if self.path == f"/t/{pkg}":
                body = data + b"x" if self.tamper else data
                break
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _tarball(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_files_are_fetched_once_from_the_registry_without_npm(tmp_path, monkeypatch):
    """No npm on the machine: the tarballs come from the registry, checked, unpacked where the
    page's server looks for them; a second start fetches nothing."""
    _Registry.tamper = False
    _Registry.packages = {pkg: _tarball({probe: f"/* {pkg} */"})
                          for pkg, probe in assets.required().items()}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{httpd.server_port}")
        root = tmp_path / "cdn"
        got = assets.prepare(root, npm="")
        assert sorted(got) == sorted(assets.required())
        for pkg, probe in assets.required().items():
            assert (root / pkg / probe).read_text() == f"/* {pkg} */"
        assert assets.prepare(root, npm="") == []
        # a tarball that does not match the registry's integrity value is refused
        _Registry.tamper = True
        with pytest.raises(RuntimeError, match="integrity"):
            assets.fetch(["requirejs@2.3.6"], tmp_path / "other", npm="")
        assert not (tmp_path / "other" / "requirejs@2.3.6").exists()
    finally:
        httpd.shutdown()
