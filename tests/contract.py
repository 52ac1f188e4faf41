"""The public interface as ../shared/CONTRACT.md names it, for the tests that hold the code to it."""

PANORAMA_ARGUMENTS = [
    "prompt",
    "negative_prompt",
    "steps",
    "scale",
    "blend_extend",
    "cfg_scale",
    "seed",
    "width",
    "height",
]
IMAGE_ARGUMENTS = ["prompt", "input_image", "steps", "scale", "strength", "samples", "seed", "width", "height"]
CALL_ARGUMENTS = ["wait_seconds", "preview", "allow_duplicate"]
VIEW_ARGUMENTS = ["task_id", "yaw", "pitch", "fov", "size", "name"]
MODEL_TOOLS = {
    "search_models": ["query", "category", "limit"],
    "describe_model": ["model"],
    "run_model": ["model", "inputs"],
}
TOOLS = {
    "generate_panorama",
    "generate_image",
    "get_task",
    "kill_task",
    "cancel_task",
    "view_panorama",
    "list_tasks",
    *MODEL_TOOLS,
    "export_panorama",
}
