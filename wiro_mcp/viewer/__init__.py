"""The 360° viewer: one self-contained HTML document (panorama.html, written for this project: WebGL,
no library, no network), served to MCP Apps hosts as a ui:// resource. With a picture embedded
(`window.WIRO_PANORAMA = {image, task_id, prompt}` set before it runs) it also works on its own in
any browser: examples/generate_panorama.py writes such a page next to each panorama it saves."""

from __future__ import annotations

import functools
from importlib import resources

# Versioned: hosts cache ui:// resources hard, so a changed viewer gets a new URI.
VIEWER_URI = "ui://wiro/panorama-v1.html"


@functools.cache
def viewer_html() -> str:
    return resources.files(__package__).joinpath("panorama.html").read_text(encoding="utf-8")
