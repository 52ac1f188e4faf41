"""A spec from Wiro's Tool/Detail: every item type, both shapes of `required` and `options`, and
hostile answers read as less, never as a crash."""

from __future__ import annotations

from typing import Any

import pytest

from wiro_mcp.catalog.derive import spec_from_wiro, tool_name
from wiro_mcp.catalog.json_schema import inputs_schema
from wiro_mcp.catalog.schema import arguments_from_inputs, validate
from wiro_mcp.errors import ArgumentError
from wiro_mcp.wiro.tool_info import ToolInfo


def info(*items: Any, **more: Any) -> dict[str, Any]:
    raw = {
        "slugowner": "acme",
        "slugproject": "thing",
        "title": "Thing",
        "parameters": [{"title": "Inputs", "items": list(items)}],
    }
    return ToolInfo.model_validate(raw | more).model_dump()


def test_every_item_type_becomes_a_typed_input() -> None:
    spec = spec_from_wiro(
        "acme/thing",
        info(
            {"id": "prompt", "type": "textarea", "required": "true", "label": "Prompt"},
            {"id": "mode", "type": "select", "options": ["fast", "best"], "default": "fast"},
            {"id": "voice", "type": "select", "options": [{"label": "A", "value": "a"}, {"label": "B", "value": 2}]},
            {"id": "strength", "type": "range", "min": "0", "max": "1", "step": "0.05", "default": "0.5"},
            {"id": "count", "type": "number", "min": "1", "max": "4", "default": "1"},
            {"id": "gain", "type": "number", "min": "0", "max": "2", "step": "0.1", "default": "1"},
            {"id": "ratio", "type": "float", "default": "1.5"},
            {"id": "mask", "type": "fileinput"},
            {"id": "refs", "type": "multifileinput"},
            {"id": "inputImage", "type": "combinefileinput"},
            {"id": "caption", "type": "text", "required": False},
        ),
    )
    assert spec.tool == "run_acme_thing" and not spec.curated
    kinds = {item.id: (item.effective_value_type, item.default) for item in spec.inputs}
    assert kinds == {
        "prompt": ("string", None),
        "mode": ("string", "fast"),
        "voice": ("string", None),
        "strength": ("number", 0.5),
        "count": ("integer", 1),
        "gain": ("number", 1.0),
        "ratio": ("number", 1.5),
        "mask": ("string", None),
        "refs": ("strings", None),
        "inputImage": ("string", None),
        "caption": ("string", None),
    }
    schema = inputs_schema(spec)
    assert schema["required"] == ["prompt"]
    assert schema["properties"]["voice"]["enum"] == ["a", "2"]
    assert schema["properties"]["refs"]["type"] == "array"
    given = {"prompt": "p", "voice": 2, "mask": "https://e.x/m.png", "refs": "https://e.x/a.png, https://e.x/b.png"}
    wire = validate(spec, arguments_from_inputs(spec, given))
    assert wire["maskUrl"] == "https://e.x/m.png" and wire["refsUrl"] == "https://e.x/a.png,https://e.x/b.png"
    assert wire["voice"] == "2" and wire["prompt"] == "p"


def test_a_wrong_input_is_named_by_its_wiro_id_with_the_reason() -> None:
    spec = spec_from_wiro(
        "acme/thing",
        info({"id": "negativePrompt", "type": "textarea"}, {"id": "steps", "type": "number", "min": "1", "max": "9"}),
    )
    with pytest.raises(ArgumentError) as caught:
        arguments_from_inputs(spec, {"steps": 20, "negativePrompt": 3, "stepz": 1})
    said = str(caught.value)
    assert "- steps: Input should be less than or equal to 9" in said
    assert "- negativePrompt:" in said and "negative_prompt" not in said
    assert "- stepz: unknown input; the inputs are: negativePrompt, steps" in said


@pytest.mark.parametrize(
    "items",
    [
        [{"id": "", "type": "text"}, {"id": "ok", "type": "text"}],
        [{"id": "a b", "type": "text"}, {"id": "ok", "type": "text"}],
        [{"type": "text"}, "not an item", 7, {"id": "ok", "type": "text"}],
        [{"id": "ok", "type": "checkbox-of-the-future", "default": {"deep": [1]}}],
        [{"id": "ok", "type": "number", "min": "low", "max": [], "default": "NaN"}],
        [{"id": "ok", "type": "select", "options": "fast,best"}],
        [{"id": "ok", "type": "select", "options": [{"label": "x"}, None, {"value": "y" * 500}]}],
        [{"id": "ok", "type": "text"}, {"id": "ok", "type": "number"}],
    ],
)
def test_hostile_items_are_read_as_less(items: list[Any]) -> None:
    spec = spec_from_wiro("acme/thing", info(*items))
    assert [item.id for item in spec.inputs] == ["ok"]
    arguments_from_inputs(spec, {"ok": "1"})  # a usable input, whatever Wiro said of it


def test_null_parameters_and_odd_answers_keep_a_prompt() -> None:
    for odd in (None, "broken", [], [{"title": "no items"}]):
        spec = spec_from_wiro("acme/thing", ToolInfo.model_validate({"parameters": odd}).model_dump())
        assert [item.id for item in spec.inputs] == ["prompt"]


def test_tool_names_are_snake_case_and_bounded() -> None:
    assert tool_name("Black-Forest-Labs/FLUX.1-dev") == "run_black_forest_labs_flux_1_dev"
    assert len(tool_name("a" * 100 + "/" + "b" * 100)) <= 64
