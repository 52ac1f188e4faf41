"""Specs → argument schemas, validation and wire conversion, for both models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from tests.contract import IMAGE_ARGUMENTS, PANORAMA_ARGUMENTS
from wiro_mcp.catalog import ModelSpec, load_catalog, snake_case
from wiro_mcp.catalog.schema import arguments_model, describe_errors, to_wire, validate
from wiro_mcp.errors import ArgumentError


def spec(tool: str) -> ModelSpec:
    return load_catalog()[tool]


def test_both_models_are_in_the_catalog() -> None:
    assert {s.model for s in load_catalog().values()} == {
        "tencent/hunyuanworld-text-to-panorama",
        "tencent/hunyuan-flux-srpo",
    }


@pytest.mark.parametrize(
    ("wiro_id", "argument"),
    [
        ("negativePrompt", "negative_prompt"),
        ("blendExtend", "blend_extend"),
        ("cfgScale", "cfg_scale"),
        ("inputImage", "input_image"),
        ("prompt", "prompt"),
        ("seed", "seed"),
    ],
)
def test_snake_case(wiro_id: str, argument: str) -> None:
    assert snake_case(wiro_id) == argument


def test_panorama_defaults_are_wiros() -> None:
    model = arguments_model(spec("generate_panorama"))
    assert to_wire(spec("generate_panorama"), model.model_validate(dict(prompt="a cave"))) == {
        "prompt": "a cave",
        "negativePrompt": "",
        "steps": 40,
        "scale": 30.0,
        "blendExtend": 6,
        "cfgScale": 0.0,
        "seed": "0",
        "width": 1920,
        "height": 960,
    }


def test_image_defaults_are_wiros_and_input_image_is_left_out_when_unset() -> None:
    model = arguments_model(spec("generate_image"))
    wire = to_wire(spec("generate_image"), model.model_validate(dict(prompt="a cat")))
    assert wire == {
        "prompt": "a cat",
        "steps": 20,
        "scale": 3.5,
        "strength": 0.88,
        "samples": 1,
        "seed": "0",
        "width": 1024,
        "height": 1024,
    }
    wire = to_wire(
        spec("generate_image"), model.model_validate(dict(prompt="a cat", input_image="https://e.x/a.png", seed=42))
    )
    assert wire["inputImage"] == "https://e.x/a.png"
    assert wire["seed"] == "42", "the seed is an integer argument sent as a string"


def test_schema_uses_snake_case_names_with_defaults_limits_and_descriptions() -> None:
    schema = arguments_model(spec("generate_panorama")).model_json_schema()
    props = schema["properties"]
    assert list(props) == PANORAMA_ARGUMENTS
    assert schema["required"] == ["prompt"]
    assert schema["additionalProperties"] is False
    assert props["steps"] == props["steps"] | {"type": "integer", "default": 40, "minimum": 1, "maximum": 500}
    assert props["seed"]["type"] == "integer" and props["seed"]["maximum"] == 9999999999
    assert props["width"]["multipleOf"] == 16
    for name, prop in props.items():
        # Real sentences for an agent, not the seeds' placeholder keys such as "prompt-help".
        assert len(prop["description"].split()) >= 3, name
        assert "-help" not in prop["description"], name


def test_image_schema_types() -> None:
    props = arguments_model(spec("generate_image")).model_json_schema()["properties"]
    assert sorted(props) == sorted(IMAGE_ARGUMENTS)
    assert props["strength"]["type"] == "number"
    assert (props["strength"]["minimum"], props["strength"]["maximum"]) == (0, 1)
    assert (props["samples"]["minimum"], props["samples"]["maximum"]) == (1, 4)
    assert {"type": "null"} in props["input_image"]["anyOf"]


@pytest.mark.parametrize(
    ("tool", "arguments", "names", "says"),
    [
        ("generate_panorama", {}, "prompt", "required"),
        ("generate_panorama", {"prompt": ""}, "prompt", "must not be empty or only spaces"),
        ("generate_panorama", {"prompt": "x", "steps": 0}, "steps", "greater than or equal to 1"),
        ("generate_panorama", {"prompt": "x", "steps": 501}, "steps", "less than or equal to 500"),
        (
            "generate_panorama",
            {"prompt": "x", "blend_extend": 11},
            "blend_extend",
            "less than or equal to 10",
        ),
        ("generate_panorama", {"prompt": "x", "seed": 3.5}, "seed", "fractional part"),
        ("generate_panorama", {"prompt": "x", "seed": -1}, "seed", "greater than or equal to 0"),
        ("generate_panorama", {"prompt": "x", "negativePrompt": "y"}, "negativePrompt", "not permitted"),
        ("generate_image", {"prompt": "x", "strength": 1.5}, "strength", "less than or equal to 1"),
        ("generate_image", {"prompt": "x", "samples": 5}, "samples", "less than or equal to 4"),
        ("generate_image", {"prompt": "x", "steps": "many"}, "steps", "valid integer"),
    ],
)
def test_bad_values_are_rejected_with_the_arguments_name(
    tool: str, arguments: dict[str, Any], names: str, says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        arguments_model(spec(tool)).model_validate(arguments)
    [error] = caught.value.errors()
    assert error["loc"] == (names,)
    assert says in error["msg"]


@pytest.mark.parametrize(
    ("tool", "size", "problems", "instead"),
    [
        # Every problem in one answer, and one size that keeps what the person chose.
        (
            "generate_panorama",
            {"width": 1000, "height": 1000},
            ["width 1000 is not a multiple of 16", "height 1000 is not a multiple of 16", "exactly 2 × height"],
            (2016, 1008),
        ),
        # Only the width was chosen (the height is the default): the width is kept.
        ("generate_panorama", {"width": 2048}, ["exactly 2 × height", "(got 2048×960)"], (2048, 1024)),
        ("generate_panorama", {"width": 2048, "height": 960}, ["exactly 2 × height"], (2048, 1024)),
        # Both chosen: the side that can be kept exactly is kept, not shrunk to fit the other.
        ("generate_panorama", {"width": 1008, "height": 1008}, ["exactly 2 × height"], (2016, 1008)),
        ("generate_panorama", {"height": 1000}, ["height 1000 is not a multiple of 16"], (2016, 1008)),
        (
            "generate_panorama",
            {"width": 4096, "height": 2048},
            ["width 4096 is above the maximum 2048", "height 2048 is above the maximum 1024"],
            (2048, 1024),
        ),
        (
            "generate_panorama",
            {"width": 30, "height": 20},
            ["width 30 is below the minimum 64", "height 20 is below the minimum 32"],
            (64, 32),
        ),
        (
            "generate_image",
            {"width": 1000, "height": 1001},
            ["width 1000 is not a multiple of 16", "height 1001 is not a multiple of 16"],
            (1008, 1008),
        ),
        ("generate_image", {"width": 4000}, ["width 4000 is above the maximum 2048"], (2048, 1024)),
        ("generate_image", {"height": 100}, ["height 100 is below the minimum 256"], (1024, 256)),
    ],
)
def test_size_problems_come_all_at_once_with_the_nearest_size_that_works(
    tool: str, size: dict[str, int], problems: list[str], instead: tuple[int, int]
) -> None:
    model = arguments_model(spec(tool))
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"prompt": "x", **size})
    [error] = caught.value.errors()
    for problem in problems:
        assert problem in error["msg"]
    width, height = instead
    assert f"Try width={width}, height={height}." in error["msg"]
    # The suggestion itself passes.
    model.model_validate({"prompt": "x", "width": width, "height": height})


def test_sizes_keep_their_limits_in_the_schema() -> None:
    props = arguments_model(spec("generate_panorama")).model_json_schema()["properties"]
    assert {k: props["width"][k] for k in ("minimum", "maximum", "multipleOf")} == {
        "minimum": 64,
        "maximum": 2048,
        "multipleOf": 16,
    }
    assert (props["height"]["minimum"], props["height"]["maximum"]) == (32, 1024)


def test_extra_fields_join_the_model_but_not_the_wire() -> None:
    s = spec("generate_image")
    model = arguments_model(s, {"wait_seconds": (float, 45.0)})
    args = model.model_validate(dict(prompt="x", wait_seconds=3))
    assert "wait_seconds" not in to_wire(s, args)
    with pytest.raises(ValueError, match="clashes"):
        arguments_model(s, {"prompt": (str, "")})


def test_a_third_model_is_just_a_spec(tmp_path: Any) -> None:
    # What adding a model takes: the spec alone gives a working argument model and wire form.
    raw = {
        "model": "acme/upscaler",
        "tool": "upscale_image",
        "title": "Upscale",
        "summary": "s",
        "description": "d",
        "outputs": "one PNG",
        "pricing": {"usd_per_second": 0.001, "typical_seconds": 5},
        "inputs": [
            {
                "id": "inputImage",
                "type": "fileinput",
                "required": True,
                "description": "the image to upscale",
            },
            {
                "id": "scaleFactor",
                "type": "select",
                "options": ["2", "4"],
                "default": "2",
                "description": "how much",
            },
        ],
    }
    extra = ModelSpec.model_validate(json.loads(json.dumps(raw)))
    model = arguments_model(extra)
    # A fileinput's URL goes in `{id}Url` (WIRO_API.md); a combinefileinput's in its own id.
    assert to_wire(extra, model.model_validate(dict(input_image="https://e.x/a.png"))) == {
        "inputImageUrl": "https://e.x/a.png",
        "scaleFactor": "2",
    }
    with pytest.raises(ValidationError):
        model.model_validate(dict(input_image="https://e.x/a.png", scale_factor="3"))


def test_public_view_lists_inputs_with_typed_defaults() -> None:
    view = spec("generate_panorama").public_view()
    seed = next(i for i in view["inputs"] if i["argument"] == "seed")
    assert seed["default"] == 0 and seed["wiro_id"] == "seed" and seed["type"] == "integer"
    prompt = next(i for i in view["inputs"] if i["argument"] == "prompt")
    assert prompt["required"] is True


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"prompt": "x", "steps": True}, "- steps: must be a number, not true or false"),
        ({"prompt": "x", "scale": False}, "- scale: must be a number, not true or false"),
        ({"prompt": "   \n\t "}, "- prompt: must not be empty or only spaces"),
        ({"prompt": "x", "bogus": 1}, "- bogus: unknown argument; the arguments are: prompt, negative_prompt"),
    ],
)
def test_validate_names_the_argument_and_sends_nothing(arguments: dict[str, Any], says: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        validate(spec("generate_panorama"), arguments)
    assert str(caught.value).startswith("Invalid arguments for generate_panorama; nothing was sent to Wiro.")
    assert says in str(caught.value)


def test_errors_echo_at_most_a_hundred_characters_of_a_value() -> None:
    huge = "x" * 1_000_000
    with pytest.raises(ValidationError) as caught:
        arguments_model(spec("generate_panorama")).model_validate({"prompt": "ok", "steps": huge})
    text = describe_errors("generate_panorama", caught.value, [])
    assert len(text) < 400 and "(1000000 characters)" in text


def test_validate_returns_wiros_fields() -> None:
    wire = validate(spec("generate_panorama"), {"prompt": "a cave", "seed": 9, "width": 1024, "height": 512})
    assert wire["seed"] == "9" and wire["width"] == 1024 and wire["blendExtend"] == 6
