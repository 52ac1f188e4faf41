"""The sandbox's model catalog: Tool/List, Tool/Detail, Run checks and outputs of every kind.

The requests are raw (signed by a WiroClient's headers) so the tests see Wiro's shapes as sent, not
as wiro-mcp's client reads them. The expected inputs below are written from the task's description,
not read from the sandbox's catalog, so a catalog mistake fails here.
"""

from __future__ import annotations

import io
import json
import struct
import wave
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from PIL import Image

from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, ManualClock, Sandbox, SandboxConfig
from wiro_mcp.sandbox.billing import Billing
from wiro_mcp.sandbox.catalog import CATALOG
from wiro_mcp.sandbox.outputs import MAKERS
from wiro_mcp.wiro.client import WiroClient

pytestmark = pytest.mark.anyio

PANORAMA = "tencent/hunyuanworld-text-to-panorama"
SRPO = "tencent/hunyuan-flux-srpo"
URL = "https://example.com/picture.png"

# (id, type, required) of every catalog model's inputs, in order.
INPUTS: dict[str, list[tuple[str, str, bool]]] = {
    "lumen/text-to-video": [
        ("prompt", "textarea", True),
        ("duration", "select", False),
        ("aspectRatio", "select", False),
        ("seed", "text", False),
    ],
    "vox/text-to-speech": [("prompt", "textarea", True), ("voice", "select", False), ("speed", "range", False)],
    "sage/chat": [
        ("prompt", "textarea", True),
        ("systemPrompt", "textarea", False),
        ("temperature", "range", False),
        ("maxTokens", "number", False),
    ],
    "forge/image-to-3d": [("inputImage", "fileinput", True), ("textured", "select", False)],
    "atlas/image-to-panorama": [
        ("inputImage", "fileinput", True),
        ("prompt", "textarea", False),
        ("width", "number", False),
        ("height", "number", False),
    ],
    "kitchen/every-input": [
        ("caption", "text", False),
        ("prompt", "textarea", True),
        ("mode", "select", False),
        ("strength", "range", False),
        ("count", "number", False),
        ("ratio", "float", False),
        ("mask", "fileinput", False),
        ("references", "multifileinput", False),
        ("inputImage", "combinefileinput", False),
    ],
    "lumen/image-to-video": [("inputImage", "combinefileinput", True), ("prompt", "textarea", False)],
}
PRICES = {
    "lumen/text-to-video": "0.12",
    "vox/text-to-speech": "0.004",
    "sage/chat": "0.0008",
    "forge/image-to-3d": "0.05",
    "atlas/image-to-panorama": "0.03",
    "pixel/quick-image": "0.002",
    "kitchen/every-input": "0.001",
    "lumen/image-to-video": "0.15",
}
EVERY_MODEL = {PANORAMA, SRPO, *PRICES}


class Api:
    """Signed raw requests to one sandbox."""

    def __init__(self, box: Sandbox, client: WiroClient) -> None:
        self.box, self.client = box, client

    async def post(self, path: str, body: dict[str, Any] | None = None, files: Any = None) -> dict[str, Any]:
        headers = self.client.auth_headers()
        if files is not None:
            answer = await self.client.http.post(path, data=body or {}, files=files, headers=headers)
        else:
            answer = await self.client.http.post(path, json=body or {}, headers=headers)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def listing(self, **body: Any) -> list[str]:
        answer = await self.post("/Tool/List", body)
        assert answer["result"] is True, answer
        return [f"{row['slugowner']}/{row['slugproject']}" for row in answer["tool"]]

    async def detail(self, model: str) -> dict[str, Any]:
        owner, _, slug = model.partition("/")
        answer = await self.post("/Tool/Detail", {"slugowner": owner, "slugproject": slug})
        assert answer["result"] is True, answer
        tool: dict[str, Any] = answer["tool"][0]
        return tool

    async def finished(self, model: str, body: dict[str, Any], files: Any = None) -> tuple[dict[str, Any], bytes]:
        """Run, move the clock to the end, and return the task and its one output's bytes."""
        run = await self.post(f"/Run/{model}", body, files)
        assert run["result"] is True, run
        self.box.advance_to(run["taskid"], "task_postprocess_end")
        task: dict[str, Any] = (await self.post("/Task/Detail", {"taskid": run["taskid"]}))["tasklist"][0]
        assert task["status"] == "task_postprocess_end" and task["pexit"] == "0"
        assert len(task["outputs"]) == 1
        download = await self.client.http.get(task["outputs"][0]["url"])
        assert download.headers["content-type"].split(";")[0] == task["outputs"][0]["contenttype"].split(";")[0]
        assert task["outputs"][0]["size"] == str(len(download.content))
        return task, download.content


@pytest.fixture
async def api(held: Sandbox) -> AsyncIterator[Api]:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=held.base_url) as client:
        yield Api(held, client)


@pytest.fixture
async def shaped() -> AsyncIterator[Api]:
    """A sandbox that writes `required` as "true"/"false", options as bare values, and no prices."""
    config = SandboxConfig(required_as="string", options_as="strings", prices=False, grain=False)
    with Sandbox(config) as box:
        async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=box.base_url) as client:
            yield Api(box, client)


# -- Tool/List -------------------------------------------------------------------------------


async def test_tool_list_shows_every_model_as_a_summary_row(api: Api) -> None:
    answer = await api.post("/Tool/List", {})
    assert (answer["result"], answer["errors"], answer["total"]) == (True, [], "10")
    assert {f"{r['slugowner']}/{r['slugproject']}" for r in answer["tool"]} == EVERY_MODEL
    keys = {"id", "slugowner", "slugproject", "title", "description", "categories", "tags", "cps"}
    for row in answer["tool"]:
        assert set(row) == keys | {"approximatelycost"}, row
        assert isinstance(row["id"], str) and row["id"].isdigit()
    rows = {f"{r['slugowner']}/{r['slugproject']}": r for r in answer["tool"]}
    assert {model: rows[model]["approximatelycost"] for model in PRICES} == PRICES
    assert rows["lumen/text-to-video"]["title"] == "Lumen Text to Video"
    assert rows[SRPO]["approximatelycost"] == "0.004500"


async def test_tool_list_pages_and_counts_before_paging(api: Api) -> None:
    everything = await api.listing(sort="id", order="ASC")
    page = await api.post("/Tool/List", {"start": "2", "limit": "3", "sort": "id", "order": "ASC"})
    assert page["total"] == "10"
    assert [f"{r['slugowner']}/{r['slugproject']}" for r in page["tool"]] == everything[2:5]
    assert await api.listing(start=8, limit=5, sort="id", order="ASC") == everything[8:], "numbers work too"
    ids = [int(r["id"]) for r in (await api.post("/Tool/List", {"sort": "id", "order": "DESC"}))["tool"]]
    assert ids == sorted(ids, reverse=True)
    assert (await api.post("/Tool/List", {"limit": "0"}))["tool"] == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"start": "-1"}, "start"),
        ({"limit": "abc"}, "limit"),
        ({"limit": 2.5}, "limit"),
        ({"sort": "newest"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"categories": [1, 2]}, "categories"),
    ],
)
async def test_tool_list_refuses_bad_fields(api: Api, body: dict[str, Any], named: str) -> None:
    answer = await api.post("/Tool/List", body)
    assert answer["result"] is False
    assert named in answer["errors"][0]["message"]


async def test_tool_list_search_ranks_by_matching_words(api: Api) -> None:
    answer = await api.post("/Tool/List", {"search": "Panorama IMAGE", "sort": "relevance"})
    found = [f"{r['slugowner']}/{r['slugproject']}" for r in answer["tool"]]
    assert found[0] == "atlas/image-to-panorama", "the only model matching both words comes first"
    assert set(found) == {
        "atlas/image-to-panorama",
        PANORAMA,
        SRPO,
        "forge/image-to-3d",
        "pixel/quick-image",
        "lumen/image-to-video",
    }
    assert answer["total"] == "6"
    ones = [int(r["id"]) for r in answer["tool"][1:]]
    assert ones == sorted(ones), "ties are sorted by id"
    assert set(await api.listing(search="video")) == {"lumen/text-to-video", "lumen/image-to-video"}
    assert await api.listing(search="tts") == ["vox/text-to-speech"], "tags are searched"
    assert await api.listing(search="short clips", limit=1) == ["lumen/text-to-video"]
    assert (await api.post("/Tool/List", {"search": "3d"}))["total"] == "0", "words under 3 letters are dropped"
    assert await api.listing(search="nothing-like-this") == []


async def test_tool_list_filters(api: Api) -> None:
    assert set(await api.listing(categories=["video"])) == {"lumen/text-to-video", "lumen/image-to-video"}
    assert set(await api.listing(categories=["AUDIO", "llm"])) == {"vox/text-to-speech", "sage/chat"}
    assert await api.listing(categories=["video"], search="animates") == ["lumen/image-to-video"]
    assert await api.listing(tags=["gltf"]) == ["forge/image-to-3d"]
    assert set(await api.listing(slugowner="Lumen")) == {"lumen/text-to-video", "lumen/image-to-video"}
    assert len(await api.listing(hideworkflows=True, summary=True, somethingelse="x")) == 10, "the rest is ignored"


async def test_tool_list_goes_through_auth_recording_and_faults(api: Api) -> None:
    api.box.inject("http_500", "Tool/List")
    answer = await api.client.http.post("/Tool/List", json={}, headers=api.client.auth_headers())
    assert answer.status_code == 500
    assert api.box.count("Tool/List") == 1
    async with httpx2.AsyncClient() as http:
        unsigned = await http.post(f"{api.box.base_url}/Tool/List", json={}, headers={"x-api-key": SANDBOX_API_KEY})
    assert unsigned.status_code == 401


# -- Tool/Detail ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(INPUTS))
async def test_tool_detail_publishes_each_model_in_wiros_shape(api: Api, model: str) -> None:
    tool = await api.detail(model.upper())  # owner and slug compare case-insensitively
    owner, _, slug = model.partition("/")
    assert (tool["slugowner"], tool["slugproject"], tool["cleanslugowner"], tool["cleanslugproject"]) == (
        owner,
        slug,
        owner,
        slug,
    )
    assert tool["approximatelycost"] == PRICES[model] and float(tool["cps"]) > 0 and tool["dynamicprice"] == ""
    assert tool["title"] and tool["description"] and tool["categories"] and tool["tags"]
    assert tool["readme"].startswith("# ") and isinstance(tool["samples"], list) and "runcount" in tool["taskstat"]
    items = [item for group in tool["parameters"] for item in group["items"]]
    assert all(isinstance(group["title"], str) for group in tool["parameters"])
    assert [(i["id"], i["type"], i["required"]) for i in items] == INPUTS[model]
    for item in items:
        assert {"id", "type", "label", "description", "required"} <= set(item)
        assert isinstance(item.get("default", ""), str)
        if item["type"] == "select":
            assert all(set(o) == {"label", "value"} and isinstance(o["value"], str) for o in item["options"])
            assert item["default"] in [o["value"] for o in item["options"]]
        if item["type"] in ("range", "number", "float"):
            assert all(isinstance(item[k], str) for k in ("min", "max", "step"))
            assert float(item["min"]) <= float(item["default"]) <= float(item["max"])


async def test_tool_detail_values_and_groups(api: Api) -> None:
    video = await api.detail("lumen/text-to-video")
    assert "short video clips from a text prompt" in video["description"]
    assert video["categories"] == ["text-to-video", "video"]
    assert len(video["parameters"]) == 2
    duration = next(i for g in video["parameters"] for i in g["items"] if i["id"] == "duration")
    assert [o["value"] for o in duration["options"]] == ["3", "5", "8"] and duration["default"] == "5"
    chat = {i["id"]: i for g in (await api.detail("sage/chat"))["parameters"] for i in g["items"]}
    assert (chat["temperature"]["min"], chat["temperature"]["max"], chat["temperature"]["step"]) == ("0", "2", "0.1")
    assert (chat["maxTokens"]["default"], chat["maxTokens"]["max"]) == ("512", "4096")
    speech = {i["id"]: i for g in (await api.detail("vox/text-to-speech"))["parameters"] for i in g["items"]}
    assert speech["prompt"]["label"] == "Text"
    assert len((await api.detail("kitchen/every-input"))["parameters"]) == 3


async def test_a_model_whose_spec_cannot_be_read_says_parameters_null(api: Api) -> None:
    tool = await api.detail("pixel/quick-image")
    assert tool["parameters"] is None
    assert tool["categories"] == ["text-to-image"]
    missing = await api.post("/Tool/Detail", {"slugowner": "pixel", "slugproject": "slow-image"})
    assert missing["result"] is False and missing["errors"][0] == {"code": 1, "message": "Tool not found"}


async def test_required_and_options_can_be_written_as_strings(shaped: Api) -> None:
    tool = await shaped.detail("lumen/text-to-video")
    items = {i["id"]: i for g in tool["parameters"] for i in g["items"]}
    assert (items["prompt"]["required"], items["seed"]["required"]) == ("true", "false")
    assert items["duration"]["options"] == ["3", "5", "8"]
    assert items["aspectRatio"]["options"] == ["16:9", "9:16", "1:1"]
    assert not {"cps", "approximatelycost", "dynamicprice"} & set(tool), "prices=False drops the prices"
    rows = (await shaped.post("/Tool/List", {}))["tool"]
    assert all("cps" not in row and "approximatelycost" not in row for row in rows)


async def test_the_seeds_tool_detail_is_unchanged(api: Api) -> None:
    tool = await api.detail(PANORAMA)
    assert tool == {
        "slugowner": "tencent",
        "slugproject": "hunyuanworld-text-to-panorama",
        "title": "hunyuanworld-text-to-panorama",
        "parameters": [
            {
                "title": "Inputs",
                "items": [
                    {"id": "prompt", "type": "textarea", "required": True, "default": ""},
                    {"id": "steps", "type": "number", "default": "40", "min": "1", "max": "500"},
                    {"id": "scale", "type": "number", "default": "30.0", "min": "0", "max": "100"},
                    {"id": "blendExtend", "type": "number", "default": "6", "min": "1", "max": "10"},
                    {"id": "cfgScale", "type": "number", "default": "0.0", "min": "0", "max": "100"},
                    {"id": "width", "type": "number", "default": "1920", "min": "16", "max": "2048"},
                    {"id": "height", "type": "number", "default": "960", "min": "16", "max": "2048"},
                ],
            }
        ],
        "cps": "0.000585",
        "approximatelycost": "0.035100",
        "dynamicprice": "",
    }
    srpo = await api.detail(SRPO)
    assert set(srpo) == {"slugowner", "slugproject", "title", "parameters", "cps", "approximatelycost", "dynamicprice"}
    assert json.loads(srpo["dynamicprice"])[0]["priceMethod"] == "cpo"


# -- Run: refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "body", "says"),
    [
        ("sage/chat", {"systemPrompt": "be brief"}, "prompt is required"),
        ("sage/chat", {"prompt": "   "}, "prompt is required"),
        ("lumen/text-to-video", {"prompt": "a", "duration": "4"}, "duration must be one of 3, 5, 8"),
        ("forge/image-to-3d", {"inputImageUrl": URL, "textured": True}, ""),  # a JSON true reads "true"
        ("forge/image-to-3d", {"inputImageUrl": URL, "textured": "yes"}, "textured must be one of true, false"),
        ("vox/text-to-speech", {"prompt": "a", "speed": "3"}, "speed must be between 0.5 and 2"),
        ("vox/text-to-speech", {"prompt": "a", "speed": "fast"}, "speed must be a number"),
        ("sage/chat", {"prompt": "a", "maxTokens": "12.5"}, "maxTokens must be a whole number"),
        ("sage/chat", {"prompt": "a", "maxTokens": 0}, "maxTokens must be between 1 and 4096"),
        ("kitchen/every-input", {"prompt": "a", "ratio": "11"}, "ratio must be between 0.1 and 10"),
        ("kitchen/every-input", {"prompt": "a", "references": [URL]}, ""),  # not {id}Url: ignored
        ("kitchen/every-input", {"prompt": "a", "referencesUrl": f"{URL},ftp://x"}, "referencesUrl must be URLs"),
        ("forge/image-to-3d", {}, "inputImage is required: send a URL in inputImageUrl"),
        ("forge/image-to-3d", {"inputImage": URL}, "inputImage is required"),  # a fileinput's URL is {id}Url
        ("atlas/image-to-panorama", {"inputImageUrl": "picture.png"}, "inputImageUrl must be a URL"),
        ("lumen/image-to-video", {"prompt": "a"}, "inputImage is required: send a URL in inputImage"),
        ("lumen/image-to-video", {"inputImageUrl": URL}, "inputImage is required"),  # combine: the URL is {id}
        ("lumen/image-to-video", {"inputImage": "not a url"}, "inputImage must be a URL"),
        ("pixel/quick-image", {}, "prompt is required"),
    ],
)
async def test_run_checks_the_fields_against_the_models_inputs(
    api: Api, model: str, body: dict[str, Any], says: str
) -> None:
    answer = await api.post(f"/Run/{model}", body)
    if not says:
        assert answer["result"] is True, answer
        return
    assert answer["result"] is False, answer
    assert says in answer["errors"][0]["message"]
    assert api.box.state.tasks() == [], "a refused run starts nothing"


async def test_run_of_an_unknown_model_is_not_found(api: Api) -> None:
    answer = await api.post("/Run/pixel/slow-image", {"prompt": "a"})
    assert answer["result"] is False and answer["errors"][0]["code"] == 1


# -- Run: outputs -----------------------------------------------------------------------------


def boxes(data: bytes) -> dict[bytes, bytes]:
    """The top-level ISO BMFF boxes of a file, by type."""
    found, at = {}, 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        found[kind] = data[at + 8 : at + size]
        at += size
    assert at == len(data), "the boxes fill the file exactly"
    return found


async def test_text_to_video_is_an_mp4_of_the_asked_duration(api: Api) -> None:
    task, data = await api.finished("lumen/text-to-video", {"prompt": "waves", "duration": "8", "ignored": 1})
    assert task["outputs"][0]["name"] == "0.mp4" and task["outputs"][0]["contenttype"] == "video/mp4"
    assert data[4:8] == b"ftyp" and len(data) < 4096
    top = boxes(data)
    assert list(top) == [b"ftyp", b"moov", b"mdat"]
    assert top[b"ftyp"][:4] == b"isom" and top[b"ftyp"][8:] == b"isommp41"
    mvhd = boxes(top[b"moov"])[b"mvhd"]
    version, timescale, duration = mvhd[0], *struct.unpack(">II", mvhd[12:20])
    assert (version, timescale, duration) == (0, 1000, 8000)
    assert "ignored" not in task["parameters"], "unknown fields are ignored"
    assert task["parameters"]["aspectRatio"] == "16:9", "defaults are filled in"
    assert task["modelid"] == "701"


async def test_image_to_video_takes_an_uploaded_first_frame(api: Api) -> None:
    task, data = await api.finished("lumen/image-to-video", {}, files={"inputImage": ("a.png", b"png!", "image/png")})
    assert task["outputs"][0]["contenttype"] == "video/mp4"
    assert struct.unpack(">I", boxes(boxes(data)[b"moov"])[b"mvhd"][16:20]) == (5000,)
    assert task["parameters"]["inputImage"] == "uploaded"


async def test_text_to_speech_is_a_short_wav(api: Api) -> None:
    task, data = await api.finished("vox/text-to-speech", {"prompt": "hello", "voice": "ember", "speed": 1.5})
    assert (task["outputs"][0]["name"], task["outputs"][0]["contenttype"]) == ("0.wav", "audio/wav")
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) < 5 * 1024
    with wave.open(io.BytesIO(data)) as sound:
        assert (sound.getnchannels(), sound.getframerate()) == (1, 8000)
        assert sound.getnframes() / sound.getframerate() == pytest.approx(0.25)


async def test_chat_replies_in_a_text_file_and_in_debugoutput(api: Api) -> None:
    prompt = "Tell me about the sea, the sky and everything in between them, please, in detail"
    task, data = await api.finished("sage/chat", {"prompt": prompt, "temperature": "1.2"})
    assert task["outputs"][0]["contenttype"] == "text/plain; charset=utf-8"
    assert data.decode() == f"Sandbox reply to: {prompt[:60]}" and len(data) < 200
    assert task["debugoutput"] == data.decode()
    assert task["totalcost"] == f"{0.0008:.12f}", "a catalog model bills its approximatelycost"


async def test_chat_answers_long_when_asked(api: Api) -> None:
    task, data = await api.finished("sage/chat", {"prompt": "[sandbox:long] go on"})
    assert 19_000 <= len(data) <= 25_000
    assert data.decode().startswith("Sandbox reply to: [sandbox:long] go on")
    assert task["debugoutput"] == data.decode()


async def test_image_to_3d_is_a_real_gltf_binary(api: Api) -> None:
    task, data = await api.finished("forge/image-to-3d", {"inputImageUrl": URL, "textured": "false"})
    assert (task["outputs"][0]["name"], task["outputs"][0]["contenttype"]) == ("0.glb", "model/gltf-binary")
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data)) and len(data) < 4096
    json_length, json_type = struct.unpack("<I4s", data[12:20])
    assert json_type == b"JSON" and json_length % 4 == 0
    document = json.loads(data[20 : 20 + json_length])
    assert document["asset"]["version"] == "2.0"
    assert document["meshes"][0]["primitives"][0]["attributes"]["POSITION"] == 0
    assert document["accessors"][0]["count"] == 3 and document["accessors"][0]["type"] == "VEC3"
    assert "materials" not in document, "textured=false paints nothing"
    bin_at = 20 + json_length
    bin_length, bin_type = struct.unpack("<I4s", data[bin_at : bin_at + 8])
    assert bin_type == b"BIN\0" and bin_length == document["buffers"][0]["byteLength"] == 36
    assert bin_at + 8 + bin_length == len(data)
    assert struct.unpack("<9f", data[bin_at + 8 :]) == (0, 0, 0, 1, 0, 0, 0, 1, 0)
    _, textured = await api.finished("forge/image-to-3d", {"inputImageUrl": URL})
    assert b'"materials"' in textured


async def test_image_to_panorama_is_a_two_to_one_png(api: Api) -> None:
    body = {"prompt": "a bay", "width": "1024"}
    task, data = await api.finished("atlas/image-to-panorama", body, files={"inputImage": ("a.png", b"x", "image/png")})
    assert (task["outputs"][0]["name"], task["outputs"][0]["contenttype"]) == ("0.png", "image/png")
    with Image.open(io.BytesIO(data)) as picture:
        assert (picture.format, picture.size) == ("PNG", (1024, 512))


async def test_quick_image_is_a_square_png(api: Api) -> None:
    task, data = await api.finished("pixel/quick-image", {"prompt": "a lamp"})
    assert task["outputs"][0]["contenttype"] == "image/png"
    with Image.open(io.BytesIO(data)) as picture:
        assert (picture.format, picture.size) == ("PNG", (512, 512))


async def test_kitchen_lists_exactly_what_it_received(api: Api) -> None:
    files = [
        ("mask", ("m.png", b"m" * 7, "image/png")),
        ("references", ("r1.png", b"r" * 11, "image/png")),
        ("references", ("r2.png", b"r" * 13, "image/png")),
    ]
    fields = {"prompt": "list it", "count": "2", "mode": "best", "inputImage": URL}
    task, data = await api.finished("kitchen/every-input", fields, files=files)
    text = data.decode()
    assert task["outputs"][0]["contenttype"] == "text/plain; charset=utf-8"
    for line in ('count = "2"', 'mode = "best"', 'prompt = "list it"', f'inputImage = "{URL}"'):
        assert f"\n  {line}\n" in text, text
    for line in ("mask: 7 bytes", "references: 11 bytes", "references#2: 13 bytes"):
        assert f"\n  {line}" in text, text
    assert task["parameters"]["references"] == "2 uploaded"
    assert (task["parameters"]["count"], task["parameters"]["ratio"]) == (2, 1.5)
    # The same parameters sent two ways: the listing (and the drawing cache) tells them apart.
    as_text, _ = await api.finished("kitchen/every-input", {"prompt": "again", "count": "3"})
    as_number, listed = await api.finished("kitchen/every-input", {"prompt": "again", "count": 3})
    assert as_text["parameters"] == as_number["parameters"]
    assert "\n  count = 3\n" in listed.decode() and "files: none" in listed.decode(), "JSON numbers stay numbers"


@pytest.mark.parametrize("billing", ["per_work", "per_run"])
async def test_catalog_runs_bill_their_price_and_a_killed_one_its_seconds(billing: Billing) -> None:
    assert set(MAKERS) == set(CATALOG) == set(PRICES), "every catalog model has its outputs"
    config = SandboxConfig(billing=billing, queue_seconds=4, run_seconds=10, clock=ManualClock(), grain=False)
    with Sandbox(config) as box:
        async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=box.base_url) as client:
            api = Api(box, client)
            task, _ = await api.finished("vox/text-to-speech", {"prompt": "hi"})
            assert (task["totalcost"], task["cps"]) == (f"{0.004:.12f}", f"{0.0004:.12f}")
            run = await api.post("/Run/lumen/text-to-video", {"prompt": "rain"})
            box.advance_to(run["taskid"], "task_start")  # half a second into the run
            killed = (await api.post("/Task/Kill", {"taskid": run["taskid"]}))["tasklist"][0]
    assert killed["status"] == "task_cancel" and float(killed["elapsedseconds"]) == pytest.approx(0.5)
    assert float(killed["totalcost"]) == pytest.approx(0.5 * 0.002), "the seconds it ran, at the model's cps"


async def test_the_seeds_runs_are_unchanged(api: Api) -> None:
    task, data = await api.finished(SRPO, {"prompt": "a fox", "width": 512, "height": 384})
    assert (task["outputs"][0]["name"], task["outputs"][0]["contenttype"]) == ("0.png", "image/png")
    assert (task["debugoutput"], task["modelid"], task["cps"]) == ("sandbox: generated", "598", f"{0.000585:.12f}")
    assert float(task["totalcost"]) == pytest.approx(0.000000005 * 512 * 384)
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.size == (512, 384)
    pano, _ = await api.finished(PANORAMA, {"prompt": "dunes", "width": 512, "height": 256})
    assert (pano["modelid"], pano["outputs"][0]["name"]) == ("611", "0.png")
    refused = await api.post(f"/Run/{SRPO}", {"prompt": "x", "width": 500})
    assert refused["errors"][0]["message"] == "width and height must be multiples of 16"
