"""What the sandbox accepts in a Run: Wiro's documented limits per model, checked independently of
the catalog, so a catalog mistake shows up as a sandbox refusal instead of being mirrored."""

from __future__ import annotations

from typing import Any

PANORAMA = "tencent/hunyuanworld-text-to-panorama"
SRPO = "tencent/hunyuan-flux-srpo"

# Wiro's documented limits per model: (min, max) for numbers.
LIMITS: dict[str, dict[str, tuple[float, float]]] = {
    PANORAMA: {
        "steps": (1, 500),
        "scale": (0, 100),
        "blendExtend": (1, 10),
        "cfgScale": (0, 100),
        "width": (16, 2048),
        "height": (16, 2048),
    },
    SRPO: {
        "steps": (1, 500),
        "scale": (0, 100),
        "strength": (0, 1),
        "samples": (1, 4),
        "width": (16, 2048),
        "height": (16, 2048),
    },
}
DEFAULTS: dict[str, dict[str, Any]] = {
    PANORAMA: {"steps": 40, "scale": 30.0, "blendExtend": 6, "cfgScale": 0.0, "width": 1920, "height": 960},
    SRPO: {"steps": 20, "scale": 3.5, "strength": 0.88, "samples": 1, "width": 1024, "height": 1024},
}


class BadRequest(Exception):
    """A request Wiro would refuse with `result: false` and this message."""

    pass


def _number(name: str, value: Any, low: float, high: float, integer: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a number") from None
    if integer and not number.is_integer():
        raise BadRequest(f"{name} must be an integer")
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}")
    return number


def check_params(model: str, fields: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """Wiro-side validation; returns the parameters with defaults filled in."""
    params: dict[str, Any] = dict(DEFAULTS[model])
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("prompt is required")
    params["prompt"] = prompt
    for name, (low, high) in LIMITS[model].items():
        if name in fields and fields[name] not in ("", None):
            integer = name not in ("scale", "cfgScale", "strength")
            value = _number(name, fields[name], low, high, integer)
            params[name] = int(value) if integer else value
    seed = str(fields.get("seed", "0"))
    if not seed.isdigit() or len(seed) > 10:
        raise BadRequest("seed must be a whole number of at most 10 digits")
    params["seed"] = seed
    if model == PANORAMA:
        params["negativePrompt"] = str(fields.get("negativePrompt", ""))
    if model == SRPO:
        if params["width"] % 16 or params["height"] % 16:
            raise BadRequest("width and height must be multiples of 16")
        image = fields.get("inputImage")
        if "inputImage" in files:
            params["inputImage"] = "uploaded"
        elif isinstance(image, str) and image:
            if not image.startswith(("http://", "https://")):
                raise BadRequest("inputImage must be a URL or an uploaded file")
            params["inputImage"] = image
    return params
