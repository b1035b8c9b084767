"""The browser the storefront's end-to-end tests drive: Debian's ``chromium``.

Playwright cannot download its own browser here; its tests launch this system browser
(``chromium.launch(executable_path=chromium_path())``).
"""

from __future__ import annotations

from .base import Progress, ensure_tool, quiet


def chromium_path(progress: Progress = quiet) -> str:
    """The path of ``chromium``, installing Debian's package when it is missing."""
    return ensure_tool("chromium", "chromium", progress)
