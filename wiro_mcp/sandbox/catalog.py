"""The sandbox's model catalog: every model Tool/List shows, and for the catalog models (all but the two
seeds) the inputs Tool/Detail publishes and Run checks, written in Wiro's shapes (WIRO_API.md, "Model
discovery"). The seeds' inputs stay where they were (params.py); here they only have a listing.

The catalog covers every kind of output (video, speech, text, 3D, panorama, image) and every item
type, so a client can be tested against models it has no bundled spec for. Nothing here imports the
rest of the sandbox: it is data, read by discovery.py, checks.py, outputs.py and billing.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ItemType = Literal[
    "text", "textarea", "select", "range", "number", "float", "fileinput", "multifileinput", "combinefileinput"
]
FILE_TYPES = frozenset({"fileinput", "multifileinput", "combinefileinput"})
NUMERIC_TYPES = frozenset({"range", "number", "float"})


@dataclass(frozen=True)
class Item:
    """One input as Tool/Detail lists it; numbers are kept as the strings Wiro sends."""

    id: str
    type: ItemType
    label: str
    description: str
    default: str | None = None
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (label, value)
    bounds: tuple[str, str, str] | None = None  # (min, max, step)


@dataclass(frozen=True)
class Entry:
    """What Tool/List shows of a model."""

    id: str
    owner: str
    slug: str
    title: str
    description: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.owner}/{self.slug}"


@dataclass(frozen=True)
class Model(Entry):
    """A catalog model: its listing, its prices and everything Tool/Detail says of it."""

    cps: str
    cost: str  # `approximatelycost`: a typical run, in USD
    groups: tuple[tuple[str, tuple[Item, ...]], ...]
    readme: str
    runcount: str
    published: bool = True  # False: Tool/Detail says `parameters: null` (a spec that cannot be read)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for _, items in self.groups for item in items)


def _line(id: str, label: str, description: str, default: str | None = None) -> Item:
    return Item(id, "text", label, description, default=default)


def _prompt(description: str, *, required: bool = True, label: str = "Prompt", id: str = "prompt") -> Item:
    return Item(id, "textarea", label, description, required=required)


def _select(id: str, label: str, description: str, options: tuple[tuple[str, str], ...], default: str) -> Item:
    return Item(id, "select", label, description, default=default, options=options)


def _plain(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((value, value) for value in values)


def _numeric(kind: ItemType, id: str, label: str, description: str, bounds: tuple[str, str, str], default: str) -> Item:
    return Item(id, kind, label, description, default=default, bounds=bounds)


def _file(kind: ItemType, id: str, label: str, description: str, *, required: bool = False) -> Item:
    return Item(id, kind, label, description, required=required)


def _readme(title: str, does: str) -> str:
    return f"# {title}\n\n{does}\n\nA model of the wiro-mcp sandbox: its outputs are tiny stand-ins, never billed.\n"


_SEED = _line("seed", "Seed", "0 picks a random seed", default="0")

MODELS = (
    Model(
        "701", "lumen", "text-to-video", "Lumen Text to Video",
        "Generates short video clips from a text prompt.",
        ("text-to-video", "video"), ("video", "motion", "clip"),
        cps="0.002", cost="0.12", readme=_readme("Lumen Text to Video", "Short video clips from a prompt."),
        runcount="48210",
        groups=(
            ("Prompt", (_prompt("What happens in the clip"),)),
            ("Video", (
                _select("duration", "Duration", "Length of the clip",
                        (("3 seconds", "3"), ("5 seconds", "5"), ("8 seconds", "8")), "5"),
                _select("aspectRatio", "Aspect ratio", "Shape of the frame",
                        (("16:9 landscape", "16:9"), ("9:16 portrait", "9:16"), ("1:1 square", "1:1")), "16:9"),
                _SEED,
            )),
        ),
    ),
    Model(
        "702", "vox", "text-to-speech", "Vox Text to Speech",
        "Reads a text aloud in one of three voices.",
        ("text-to-speech", "audio"), ("speech", "voice", "tts"),
        cps="0.0004", cost="0.004", readme=_readme("Vox Text to Speech", "Speech from text."), runcount="9120",
        groups=(("Inputs", (
            _prompt("The words to say", label="Text"),
            _select("voice", "Voice", "Who speaks", _plain("alloy", "verse", "ember"), "alloy"),
            _numeric("range", "speed", "Speed", "1 is normal speed", ("0.5", "2", "0.1"), "1"),
        )),),
    ),
    Model(
        "703", "sage", "chat", "Sage Chat",
        "A large language model that answers a prompt with text.",
        ("llm", "text-generation"), ("chat", "language", "assistant"),
        cps="0.0002", cost="0.0008", readme=_readme("Sage Chat", "Text answers to a prompt."), runcount="310554",
        groups=(("Inputs", (
            _prompt("The message to answer"),
            _prompt("How the model should behave", required=False, label="System prompt", id="systemPrompt"),
            _numeric("range", "temperature", "Temperature", "Higher is more varied", ("0", "2", "0.1"), "0.7"),
            _numeric("number", "maxTokens", "Max tokens", "Longest answer, in tokens", ("1", "4096", "1"), "512"),
        )),),
    ),
    Model(
        "704", "forge", "image-to-3d", "Forge Image to 3D",
        "Turns one picture into a textured 3D mesh (glTF binary).",
        ("image-to-3d", "3d"), ("mesh", "gltf", "model"),
        cps="0.001", cost="0.05", readme=_readme("Forge Image to 3D", "A 3D mesh from an image."), runcount="2875",
        groups=(("Inputs", (
            _file("fileinput", "inputImage", "Image", "The object to model", required=True),
            _select("textured", "Textured", "Paint the mesh", _plain("true", "false"), "true"),
        )),),
    ),
    Model(
        "705", "atlas", "image-to-panorama", "Atlas Image to Panorama",
        "Extends one picture into a 360° equirectangular panorama.",
        ("image-to-panorama", "360"), ("panorama", "equirectangular", "outpainting"),
        cps="0.001", cost="0.03", readme=_readme("Atlas Image to Panorama", "A 360° panorama from an image."),
        runcount="1604",
        groups=(("Inputs", (
            _file("fileinput", "inputImage", "Image", "The view to extend", required=True),
            _prompt("What the rest of the scene holds", required=False),
            _numeric("number", "width", "Width", "Pixels; the panorama is 2:1", ("512", "4096", "1"), "2048"),
            _numeric("number", "height", "Height", "Pixels", ("256", "2048", "1"), "1024"),
        )),),
    ),
    Model(
        "706", "pixel", "quick-image", "Pixel Quick Image",
        "A fast text-to-image model whose inputs are not published.",
        ("text-to-image",), ("image", "fast"),
        cps="0.0005", cost="0.002", readme=_readme("Pixel Quick Image", "A 512×512 image from a prompt."),
        runcount="77031", published=False,
        groups=(("Inputs", (_prompt("The picture"),)),),
    ),
    Model(
        "707", "kitchen", "every-input", "Kitchen Every Input",
        "A test model with one input of every type; it answers with a listing of what it received.",
        ("tools",), ("test", "inputs"),
        cps="0.001", cost="0.001", readme=_readme("Kitchen Every Input", "Lists the inputs it received."),
        runcount="12",
        groups=(
            ("Words", (
                _line("caption", "Caption", "A short line of text"),
                _prompt("Anything"),
                _select("mode", "Mode", "Speed or quality", (("Fast", "fast"), ("Best", "best")), "fast"),
            )),
            ("Numbers", (
                _numeric("range", "strength", "Strength", "0 to 1", ("0", "1", "0.05"), "0.5"),
                _numeric("number", "count", "Count", "A whole number", ("1", "4", "1"), "1"),
                _numeric("float", "ratio", "Ratio", "Any number in range", ("0.1", "10", "0.1"), "1.5"),
            )),
            ("Files", (
                _file("fileinput", "mask", "Mask", "One file"),
                _file("multifileinput", "references", "References", "Several files"),
                _file("combinefileinput", "inputImage", "Image", "A URL or a file"),
            )),
        ),
    ),
    Model(
        "708", "lumen", "image-to-video", "Lumen Image to Video",
        "Animates one picture into a short video clip.",
        ("image-to-video", "video"), ("video", "animation"),
        cps="0.0025", cost="0.15", readme=_readme("Lumen Image to Video", "A clip that starts from an image."),
        runcount="20977",
        groups=(("Inputs", (
            _file("combinefileinput", "inputImage", "Image", "The first frame", required=True),
            _prompt("How it moves", required=False),
        )),),
    ),
)  # fmt: skip

# The two seed models: their inputs, limits and pictures are in params.py, billing.py and pictures.py.
SEEDS = (
    Entry(
        "611", "tencent", "hunyuanworld-text-to-panorama", "hunyuanworld-text-to-panorama",
        "HunyuanWorld: a 360° equirectangular panorama from a text prompt.",
        ("text-to-panorama", "360"), ("panorama", "equirectangular", "hunyuan"),
    ),
    Entry(
        "598", "tencent", "hunyuan-flux-srpo", "hunyuan-flux-srpo",
        "Tencent SRPO on FLUX.1-dev: text-to-image, or image-to-image from one picture.",
        ("text-to-image", "image-to-image"), ("image", "flux", "hunyuan"),
    ),
)  # fmt: skip

CATALOG: dict[str, Model] = {model.name: model for model in MODELS}
LISTED: tuple[Entry, ...] = (*SEEDS, *MODELS)
