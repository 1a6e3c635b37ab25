"""Solara's browser-side files, for machines that cannot reach its CDN.

A Solara page loads its front end (Vue, Vuetify, RequireJS, Font Awesome) through the Solara
server, which fetches each file once from cdn.jsdelivr.net and keeps it in a cache directory
(``solara.server.settings.assets.proxy_cache_dir``, by default ``<venv>/share/solara/cdn``). A
classroom or CI machine without access to that CDN shows a blank page. These helpers list the
packages the dashboard needs that are missing from the cache and fill it from the npm registry
with ``npm pack`` (the ordinary client); nothing else is downloaded.

Usage: ``python -m lendsim.viz.assets`` (prints what it fetched, or what is missing).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: npm packages the dashboard's page loads, with the file of each that must be present.
#: The Vuetify app's version is read from Solara's page template (it changes with Solara).
STATIC_PACKAGES = {"requirejs@2.3.6": "require.js",
                   "font-awesome@4.5.0": "css/font-awesome.min.css"}


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


def fetch(packages: list[str], root: Path | None = None, npm: str = "npm") -> list[str]:
    """Fill the cache with ``packages`` from the npm registry (``npm pack``), each unpacked
    to ``<cache>/<name>@<version>/`` as the CDN lays it out. Returns what it fetched.

    Raises:
        RuntimeError: npm is missing or a package cannot be fetched (with npm's message).
    """
    root = cache_dir() if root is None else root
    exe = shutil.which(npm)
    if exe is None:
        raise RuntimeError("npm is not installed: install it (Debian: apt-get install npm) "
                           "or give this machine access to cdn.jsdelivr.net")
    done = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in packages:
            out = subprocess.run([exe, "pack", pkg, "--silent", "--pack-destination", tmp],
                                 capture_output=True, text=True, timeout=300)
            if out.returncode != 0:
                raise RuntimeError(f"npm pack {pkg} failed: {out.stderr.strip()[-500:]}")
            tgz = Path(tmp) / out.stdout.strip().splitlines()[-1]
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


def main() -> int:
    try:
        got = ensure()
    except RuntimeError as exc:
        print(f"lendsim: error: {exc}; missing: {', '.join(missing())}", file=sys.stderr)
        return 1
    print(f"fetched {', '.join(got)} into {cache_dir()}" if got
          else f"all front-end files present in {cache_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
