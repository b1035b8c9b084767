"""The browser the storefront's end-to-end tests drive: Debian's ``chromium``.

Playwright cannot download its own browser here; its tests launch this system browser
(``chromium.launch(executable_path=chromium_path())``).
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from .base import InfraError, Progress, ensure_tool, quiet, run
from .paths import cache_dir


def chromium_path(progress: Progress = quiet) -> str:
    """The path of ``chromium``, installing Debian's package when it is missing."""
    return ensure_tool("chromium", "chromium", progress)


#: The accessibility engine the browser tests run in each page (pinned; npm checks the
#: package's integrity against the registry).
AXE_VERSION = "4.14.1"


def axe_script_path(progress: Progress = quiet) -> Path:
    """``axe.min.js`` of axe-core, fetched once with npm into the download cache
    (Debian's ``npm`` is installed when missing)."""
    target = cache_dir("axe-core") / AXE_VERSION / "axe.min.js"
    if target.exists():
        return target
    npm = ensure_tool("npm", "npm", progress)
    progress(f"fetching axe-core {AXE_VERSION} with npm")
    with tempfile.TemporaryDirectory() as scratch:
        run([npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"], cwd=Path(scratch))
        (tarball,) = Path(scratch).glob("axe-core-*.tgz")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/axe.min.js")
            if member is None:
                raise InfraError(f"axe-core {AXE_VERSION} has no axe.min.js")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(member.read())
            partial.replace(target)
    return target
