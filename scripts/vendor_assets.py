#!/usr/bin/env python
"""Refresh the JavaScript the book's HTML needs, so that pages never load anything from a CDN.

The built book renders math with MathJax 3 and the widgets in the chapters with the Jupyter
widgets HTML manager (which needs RequireJS) and, for the live explorers, anywidget's front end.
By default Sphinx and myst-nb load all three from public CDNs; this book serves copies of them
from ``book/_static/vendor/`` instead (see ``mathjax_path`` and ``nb_ipywidgets_js`` in
``_config.yml``), so a page works offline, behind a firewall and in the CI build.

The vendored files are committed: building the book never needs the network. Only this script
does, when the pinned versions below change. It downloads each package with ``npm pack`` (and
anywidget's front end with ``pip download``, from its wheel) into a temporary folder, copies
just the files a page needs (plus each package's licence) and writes
``book/_static/vendor/MANIFEST.json`` with the versions, npm integrity hashes and a SHA-256 of
every vendored file.

Usage::

    python scripts/vendor_assets.py            # re-download the pinned versions (needs npm)
    python scripts/vendor_assets.py --check    # offline: verify the files against MANIFEST.json

Keep the Jupyter widgets HTML manager on the 1.x line while ipywidgets is 8.x (the 0.x line is for
ipywidgets 7); MathJax stays on 3.x because Sphinx 7 configures MathJax 3.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "book" / "_static" / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"

# Pinned versions: change here, rerun, rebuild the book and look at a page with math and a widget.
MATHJAX = "mathjax@3.2.2"
REQUIREJS = "requirejs@2.3.8"
HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15"
# anywidget's front end (the book's live explorers and drawing pad): the AMD build that its Python
# wheel ships for the classic notebook, which the widget manager loads through RequireJS. Keep it
# equal to the anywidget that requirements.txt installs (the widget state names this version).
ANYWIDGET = "anywidget==0.11.0"

# MathJax TeX extensions that the `autoload` extension (part of tex-chtml.js) may fetch on demand,
# e.g. \boldsymbol, \color, \cancel, \ce, \begin{cases*}. ``all-packages.js`` (a bundle of all of
# them) and ``colorv2.js`` (replaced by ``color``) are never autoloaded and are left out.
MATHJAX_TEX_EXTENSIONS = [
    "action",
    "amscd",
    "bbox",
    "boldsymbol",
    "braket",
    "bussproofs",
    "cancel",
    "cases",
    "centernot",
    "color",
    "colortbl",
    "empheq",
    "enclose",
    "extpfeil",
    "gensymb",
    "html",
    "mathtools",
    "mhchem",
    "noerrors",
    "physics",
    "setoptions",
    "tagformat",
    "textcomp",
    "textmacros",
    "upgreek",
    "unicode",
    "verb",
]

REQUIREJS_LICENSE = """\
RequireJS {version}
Copyright jQuery Foundation and other contributors, https://jquery.org/

This software consists of voluntary contributions made by many individuals. For exact
contribution history, see the revision history available at
https://github.com/requirejs/requirejs

The following license applies to all parts of this software except as documented below:

====

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

JUPYTER_LICENSE = """\
@jupyter-widgets/html-manager {version} (part of ipywidgets, https://github.com/jupyter-widgets/ipywidgets)

Copyright (c) 2015 Project Jupyter Contributors
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of
   conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of
   conditions and the following disclaimer in the documentation and/or other materials provided
   with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to
   endorse or promote products derived from this software without specific prior written
   permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY,
WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY
WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

embed-amd.js bundles third-party libraries (Lumino, Backbone, jQuery, jQuery UI, lodash, ...);
their notices are in THIRD-PARTY-NOTICES.txt beside this file.
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(spec: str, dest: Path) -> tuple[Path, dict]:
    """Download ``spec`` with ``npm pack`` and unpack it; return (package dir, pack info)."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor_assets: npm is not installed (apt-get install npm); the committed files still work")
    out = subprocess.run(
        [npm, "pack", spec, "--json", "--pack-destination", str(dest)], check=True, capture_output=True, text=True
    ).stdout
    info = json.loads(out)[0]
    unpacked = dest / info["name"].replace("/", "__")
    unpacked.mkdir()
    with tarfile.open(dest / info["filename"]) as tar:
        tar.extractall(unpacked, filter="data")
    return unpacked / "package", info


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def vendor(tmp: Path) -> dict:
    packages = {}

    # MathJax 3: the tex-chtml component, its CHTML woff fonts and the autoloadable TeX extensions.
    pkg, info = npm_pack(MATHJAX, tmp)
    es5, out = pkg / "es5", VENDOR / "mathjax"
    copy(es5 / "tex-chtml.js", out / "tex-chtml.js")
    for font in sorted((es5 / "output/chtml/fonts/woff-v2").glob("*.woff")):
        copy(font, out / "output/chtml/fonts/woff-v2" / font.name)
    for name in MATHJAX_TEX_EXTENSIONS:
        copy(es5 / f"input/tex/extensions/{name}.js", out / f"input/tex/extensions/{name}.js")
    copy(pkg / "LICENSE", out / "LICENSE")
    packages["mathjax"] = info

    # RequireJS: the AMD loader the widget manager needs.
    pkg, info = npm_pack(REQUIREJS, tmp)
    out = VENDOR / "requirejs"
    copy(pkg / "require.js", out / "require.js")
    (out / "LICENSE").write_text(REQUIREJS_LICENSE.format(version=info["version"]))
    packages["requirejs"] = info

    # Jupyter widgets HTML manager: embed-amd.js bundles @jupyter-widgets/base, controls and output,
    # so no widget module of core ipywidgets is fetched from anywhere. Of the Font Awesome files it
    # references (button icons) only the woff2 ones are kept: every browser that runs the widgets
    # picks woff2 first from the @font-face lists and never asks for the eot/ttf/svg/woff fallbacks.
    pkg, info = npm_pack(HTML_MANAGER, tmp)
    dist, out = pkg / "dist", VENDOR / "jupyter-widgets"
    copy(dist / "embed-amd.js", out / "embed-amd.js")
    for font in sorted(dist.glob("*.woff2")):
        copy(font, out / font.name)
    (out / "LICENSE").write_text(JUPYTER_LICENSE.format(version=info["version"]))
    copy(dist / "embed.js.LICENSE.txt", out / "THIRD-PARTY-NOTICES.txt")
    packages["jupyter-widgets"] = info

    # anywidget: nbextension/index.js is an AMD module (define(["@jupyter-widgets/base"], ...)).
    wheel_dir = tmp / "anywidget"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(wheel_dir),
            ANYWIDGET,
        ],
        check=True,
    )
    wheel = next(wheel_dir.glob("anywidget-*.whl"))
    out = VENDOR / "anywidget"
    with zipfile.ZipFile(wheel) as zf:
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.js").write_bytes(zf.read("anywidget/nbextension/index.js"))
        licence = next(n for n in zf.namelist() if n.endswith("licenses/LICENSE") or n.endswith("LICENSE"))
        (out / "LICENSE").write_bytes(zf.read(licence))
    packages["anywidget"] = {
        "name": "anywidget",
        "version": ANYWIDGET.split("==")[1],
        "integrity": "sha256-" + sha256(wheel),
    }
    return packages


def write_manifest(packages: dict) -> None:
    files = sorted(p for p in VENDOR.rglob("*") if p.is_file() and p != MANIFEST)
    manifest = {
        "about": "Written by scripts/vendor_assets.py; do not edit by hand.",
        "packages": {
            key: {"name": i["name"], "version": i["version"], "integrity": i["integrity"]}
            for key, i in packages.items()
        },
        "files": {p.relative_to(VENDOR).as_posix(): sha256(p) for p in files},
    }
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def check() -> int:
    """Offline check: every file in the manifest is present and unchanged, and nothing else is there."""
    if not MANIFEST.exists():
        print(f"vendor_assets: {MANIFEST.relative_to(ROOT)} is missing; run scripts/vendor_assets.py")
        return 1
    manifest = json.loads(MANIFEST.read_text())
    problems = []
    for rel, digest in manifest["files"].items():
        path = VENDOR / rel
        if not path.is_file():
            problems.append(f"missing {rel}")
        elif sha256(path) != digest:
            problems.append(f"changed {rel}")
    extra = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    extra -= set(manifest["files"]) | {MANIFEST.name}
    problems += [f"unexpected {rel}" for rel in sorted(extra)]
    for problem in problems:
        print("vendor_assets:", problem)
    total = sum((VENDOR / rel).stat().st_size for rel in manifest["files"] if (VENDOR / rel).is_file())
    versions = ", ".join(f"{p['name']} {p['version']}" for p in manifest["packages"].values())
    print(
        f"vendor_assets: {len(manifest['files'])} files, {total / 1e6:.2f} MB ({versions}):",
        "OK" if not problems else f"{len(problems)} problem(s)",
    )
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify the vendored files against MANIFEST.json (offline) instead of downloading",
    )
    args = parser.parse_args(argv)
    if args.check:
        return check()
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="vendor-assets-") as tmp:
        packages = vendor(Path(tmp))
    write_manifest(packages)
    return check()


if __name__ == "__main__":
    sys.exit(main())
