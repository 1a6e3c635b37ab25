"""Solara's browser-side files, served by the dashboard itself so that it works offline.

A Solara page loads its front end (Vue, Vuetify, RequireJS, Font Awesome) through the Solara
server, which would fetch each file from cdn.jsdelivr.net and keep it in a cache directory
(``solara.server.settings.assets.proxy_cache_dir``, by default ``<venv>/share/solara/cdn``). A
classroom or CI machine without access to that CDN would show a blank page. ``lendsim viz``
calls :func:`prepare` before it starts: the packages the page needs that are missing from the
cache are fetched once from the npm registry (``npm pack`` when npm is installed, else the
registry's tarball, checked against its SHA-512), and when they cannot be had it stops with one
line saying how to get them. Nothing else is downloaded.

Usage: ``python -m lendsim.viz.assets`` (prints what it fetched, or what is missing)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lendsim.errors import LendsimError

#: npm packages the dashboard's page loads, with the file of each that must be present.
#: The Vuetify app's version is read from Solara's page template (it changes with Solara).
STATIC_PACKAGES = {"requirejs@2.3.6": "require.js",
                   "font-awesome@4.5.0": "css/font-awesome.min.css"}
DEFAULT_REGISTRY = "https://registry.npmjs.org"


def cache_dir() -> Path:
    """Where the Solara server looks for (and caches) CDN files."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def vuetify_app() -> tuple[str, str]:
    """The Solara front-end package the installed Solara serves, e.g.
    ``("@widgetti/solara-vuetify3-app@5.2.0", "dist/main8.css")``."""
    import ipyvue
    import solara.server.server as server

    template = Path(server.__file__).parent / "templates" / "solara.html.j2"
    text = template.read_text()
    import ipywidgets

    name = "solara-vuetify3-app" if ipyvue.__version__.startswith("3") else "solara-vuetify-app"
    version = re.search(rf"@widgetti/{name}@([0-9][^/]*)/", text).group(1)
    ipywidgets_major = ipywidgets.__version__.split(".")[0]
    return f"@widgetti/{name}@{version}", f"dist/main{ipywidgets_major}.css"


def required() -> dict[str, str]:
    """Every package the page needs: ``name@version`` -> a file that must exist in it."""
    app, probe = vuetify_app()
    return {app: probe, **STATIC_PACKAGES}


def missing(root: Path | None = None) -> list[str]:
    """The required packages that are not in the cache."""
    root = cache_dir() if root is None else root
    return [pkg for pkg, probe in required().items() if not (root / pkg / probe).is_file()]


def registry() -> str:
    """The npm registry to fetch from: npm's own setting (``npm_config_registry``) if set."""
    return os.environ.get("npm_config_registry") or os.environ.get(
        "NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY


def _download(pkg: str, dest_dir: Path, timeout: float) -> Path:
    """Download ``name@version``'s tarball from the npm registry without npm, checking it
    against the registry's SHA-512 integrity value; returns the file."""
    name, version = pkg.rsplit("@", 1)
    base = registry().rstrip("/")
    with urllib.request.urlopen(f"{base}/{name.replace('/', '%2F')}/{version}",
                                timeout=timeout) as resp:
        dist = json.load(resp)["dist"]
    with urllib.request.urlopen(dist["tarball"], timeout=timeout) as resp:
        data = resp.read()
    algo, _, want = dist.get("integrity", "").partition("-")
    if algo != "sha512" or base64.b64decode(want) != hashlib.sha512(data).digest():
        raise RuntimeError(f"{pkg}: the registry's tarball does not match its sha512 integrity")
    out = dest_dir / f"{name.replace('/', '-')}-{version}.tgz"
    out.write_bytes(data)
    return out


def _pack(pkg: str, dest_dir: Path, exe: str) -> Path:
    """``npm pack`` one package into ``dest_dir``; returns the tarball."""
    out = subprocess.run([exe, "pack", pkg, "--silent", "--pack-destination", str(dest_dir)],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"npm pack {pkg} failed: {out.stderr.strip()[-300:]}")
    return dest_dir / out.stdout.strip().splitlines()[-1]


def fetch(packages: list[str], root: Path | None = None, npm: str = "npm",
          timeout: float = 60) -> list[str]:
    """Fill the cache with ``packages`` from the npm registry, each unpacked to
    ``<cache>/<name>@<version>/`` as the CDN lays it out. Uses ``npm pack`` when npm is
    installed (it follows the user's npm settings), else downloads the tarball from the
    registry directly. Returns what it fetched.

    Raises:
        RuntimeError: a package cannot be fetched (the message says why).
    """
    root = cache_dir() if root is None else root
    exe = shutil.which(npm) if npm else None
    done = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in packages:
            try:
                tgz = (_pack(pkg, Path(tmp), exe) if exe
                       else _download(pkg, Path(tmp), timeout))
            except (OSError, KeyError, ValueError, subprocess.TimeoutExpired) as exc:
                raise RuntimeError(f"cannot fetch {pkg} from {registry()}: {exc}") from None
            dest = root / pkg
            staging = Path(tmp) / "x"
            shutil.rmtree(staging, ignore_errors=True)
            with tarfile.open(tgz) as tar:
                tar.extractall(staging, filter="data")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.move(str(staging / "package"), dest)  # npm tarballs hold package/...
            done.append(pkg)
    return done


def ensure() -> list[str]:
    """Fetch whatever the page needs and the cache lacks; returns what was fetched."""
    need = missing()
    return fetch(need) if need else []


def prepare(root: Path | None = None, npm: str = "npm",
            log: Callable[[str], None] = lambda line: None) -> list[str]:
    """Before the dashboard starts: make sure the page's front-end files are on this machine,
    fetching the missing ones once from the npm registry. Returns what it fetched.

    Raises:
        LendsimError: files are missing and cannot be fetched; one line with the fix (so the
            dashboard never starts into a blank page).
    """
    root = cache_dir() if root is None else root
    need = missing(root)
    if not need:
        return []
    log(f"lendsim: fetching the dashboard's front-end files once ({', '.join(need)}) "
        f"from {registry()}")
    try:
        return fetch(need, root, npm=npm)
    except OSError as exc:  # e.g. the cache folder is not writable
        raise LendsimError(
            f"the dashboard's front-end files ({', '.join(need)}) cannot be saved in {root} "
            f"({exc.strerror or exc}); set SOLARA_ASSETS_PROXY_CACHE_DIR to a folder you can "
            "write to") from None
    except RuntimeError as exc:
        raise LendsimError(
            f"the dashboard's front-end files ({', '.join(need)}) are not on this machine and "
            f"cannot be fetched ({exc}); run `lendsim viz` once on a network that reaches "
            f"{registry()} (they are kept in {root}), or copy that folder from a machine "
            "where the dashboard works") from None


def main() -> int:
    try:
        got = ensure()
    except (RuntimeError, LendsimError) as exc:
        print(f"lendsim: error: {exc}; missing: {', '.join(missing())}", file=sys.stderr)
        return 1
    print(f"fetched {', '.join(got)} into {cache_dir()}" if got
          else f"all front-end files present in {cache_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
