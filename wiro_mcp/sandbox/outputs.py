"""What the catalog's models output: tiny real files of every kind, recognisable by their signatures.

A WAV tone (the stdlib `wave` module), an MP4 (ISO BMFF boxes: `ftyp`, `moov` with an `mvhd` whose
duration is the clip's, `mdat`), a glTF 2.0 binary holding one triangle, text (an LLM's reply, which
also goes in the task's `debugoutput` as Wiro's LLMs do), and PNGs drawn by pictures.py. Each file is
a few KB at most, except a reply asked to be long with `[sandbox:long]` in the prompt (about 20 KB).
"""

from __future__ import annotations

import base64
import io
import json
import math
import struct
import wave
from collections.abc import Callable
from typing import Any

from .catalog import CATALOG
from .lifecycle import OutputFile, SandboxTask
from .pictures import image_png, panorama_png

TEXT = "text/plain; charset=utf-8"
LONG_REPLY_BYTES = 20_000
_PITCH = {"alloy": 440.0, "verse": 523.25, "ember": 329.63}


def wav_tone(pitch: float = 440.0, seconds: float = 0.25, rate: int = 8000) -> bytes:
    """A mono 16-bit tone: 0.25 s at 8 kHz is about 4 KB."""
    samples = (int(12_000 * math.sin(2 * math.pi * pitch * i / rate)) for i in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(seconds: float, note: str = "sandbox video") -> bytes:
    """An ISO BMFF file that says it lasts `seconds`: ftyp (isom; isom, mp41), moov/mvhd, mdat."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isom" + b"mp41")
    identity = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    # mvhd version 0: version and flags, creation and modification times, timescale (ms), duration,
    # rate 1.0, volume 1.0, reserved, the identity matrix, pre_defined, the next track id.
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, round(seconds * 1000))
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + identity
        + bytes(24)
        + struct.pack(">I", 1),
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", note.encode()[:1000])


def glb(textured: bool) -> bytes:
    """A glTF 2.0 binary: one triangle mesh (POSITION from a BIN chunk), coloured when `textured`."""
    positions = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)
    primitive: dict[str, Any] = {"attributes": {"POSITION": 0}}
    document: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "wiro-mcp sandbox"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [primitive]}],
        "buffers": [{"byteLength": len(positions)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(positions), "target": 34962}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 0]}
        ],
    }
    if textured:
        document["materials"] = [{"pbrMetallicRoughness": {"baseColorFactor": [0.9, 0.45, 0.1, 1.0]}}]
        primitive["material"] = 0
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)  # chunks are 4-byte aligned: JSON padded with spaces, BIN with zeros
    binary = positions + bytes(-len(positions) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(binary), b"BIN\0") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def chat_reply(prompt: str) -> str:
    """The LLM's answer: one short line, or about 20 KB of numbered lines for `[sandbox:long]`."""
    reply = f"Sandbox reply to: {prompt[:60]}"
    if "[sandbox:long]" not in prompt:
        return reply
    lines = [reply]
    while sum(len(line) + 1 for line in lines) < LONG_REPLY_BYTES:
        lines.append(f"{len(lines):04d}. The sandbox keeps talking so that long answers can be tested.")
    return "\n".join(lines)


def listing(task: SandboxTask) -> str:
    """What a Run received: every field as JSON (so a number sent as text shows its quotes), every part."""
    lines = [f"{task.model} received", "fields:"]
    lines += [f"  {name} = {json.dumps(value, ensure_ascii=False)}" for name, value in sorted(task.received.items())]
    lines.append("files:" if task.uploads else "files: none")
    lines += [f"  {name}: {len(data)} bytes" for name, data in sorted(task.uploads.items())]
    return "\n".join(lines) + "\n"


def _note(task: SandboxTask) -> str:
    return f"sandbox video {task.params.get('aspectRatio', '')} {task.params.get('prompt', '')[:200]}"


def _panorama(task: SandboxTask) -> OutputFile:
    width = int(task.params["width"])  # an equirectangular picture is 2:1 whatever `height` says
    return OutputFile(
        "0.png", "image/png", panorama_png(task.params.get("prompt") or "", width, width // 2, grain=False)
    )


def _quick_image(task: SandboxTask) -> OutputFile:
    return OutputFile("0.png", "image/png", image_png(task.params["prompt"], 512, 512, 0, None, 0.0, grain=False))


MAKERS: dict[str, Callable[[SandboxTask], OutputFile]] = {
    "lumen/text-to-video": lambda t: OutputFile("0.mp4", "video/mp4", mp4(float(t.params["duration"]), _note(t))),
    "lumen/image-to-video": lambda t: OutputFile("0.mp4", "video/mp4", mp4(5.0, _note(t))),
    "vox/text-to-speech": lambda t: OutputFile("0.wav", "audio/wav", wav_tone(_PITCH[t.params["voice"]])),
    "sage/chat": lambda t: OutputFile("0.txt", TEXT, chat_reply(t.params["prompt"]).encode()),
    "forge/image-to-3d": lambda t: OutputFile("0.glb", "model/gltf-binary", glb(t.params["textured"] == "true")),
    "atlas/image-to-panorama": _panorama,
    "pixel/quick-image": _quick_image,
    "kitchen/every-input": lambda t: OutputFile("0.txt", TEXT, listing(t).encode()),
}


def chosen(value: str) -> list[OutputFile]:
    """The outputs the `outputs` fault lists (its `value`, a JSON list of objects), in order. Each object is
    `name` and `contenttype` (what Task/Detail lists and the file route answers with), the body as `body`
    (text) or `base64` (bytes), `size` to repeat (or cut) that body to exactly so many bytes, `count` to
    make that many outputs (`{i}` in the name or url is each one's index among all), and `url` to list
    instead of the file's own (`{origin}`: the sandbox's). The outputs of one object share one body, so
    150 outputs of 2 MiB cost 2 MiB here."""
    files: list[OutputFile] = []
    for item in json.loads(value):
        data = base64.b64decode(item["base64"]) if "base64" in item else str(item.get("body", "output\n")).encode()
        if "size" in item:
            size = int(item["size"])
            data = (data * (size // max(1, len(data)) + 1))[:size] if data else bytes(size)
        for _ in range(int(item.get("count", 1))):
            index = str(len(files))
            url = item.get("url")
            files.append(
                OutputFile(
                    str(item.get("name", "{i}.bin")).replace("{i}", index),
                    str(item.get("contenttype", "application/octet-stream")),
                    data,
                    listed_url=str(url).replace("{i}", index) if url is not None else None,
                )
            )
    return files


def prepare(task: SandboxTask, fields: dict[str, Any]) -> None:
    """Keep what a new catalog task needs to answer: the fields as received, an LLM's reply."""
    if task.model not in CATALOG:
        return
    task.received = dict(fields)
    if task.model == "sage/chat":
        task.debug_output = chat_reply(task.params["prompt"])


def render_catalog(task: SandboxTask) -> list[OutputFile]:
    """A finished catalog task's outputs (called in a worker thread)."""
    return [MAKERS[task.model](task)]
