"""The layers ARCHITECTURE.md draws, checked on the code: every import of wiro_mcp points down (or
across to a peer the table allows), MCP is imported only by the adapter, each package says its job,
and no module grows past 300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wiro_mcp"

# What each part may import of wiro_mcp (besides itself). The shared modules import only each other.
SHARED = {"config", "errors", "text", "results", "budgets", "people"}
ALLOWED: dict[str, set[str]] = {
    "shared": set(),
    "wiro": set(),
    "catalog": set(),
    "journal": {"wiro"},
    "money": {"wiro", "catalog", "journal"},
    "tracking": {"wiro"},
    "media": {"wiro", "catalog"},
    "service": {"wiro", "catalog", "journal", "money", "tracking", "media"},
    "auth": set(),
    "adapter": {"wiro", "catalog", "journal", "money", "tracking", "media", "service", "viewer", "auth"},
    "viewer": set(),
    "sandbox": {"wiro"},
    "top": {
        "wiro",
        "catalog",
        "journal",
        "money",
        "tracking",
        "media",
        "service",
        "adapter",
        "sandbox",
        "viewer",
        "auth",
    },
}
TOP_MODULES = {"cli", "doctor", "__main__", "__init__"}


def part_of(module: str) -> str:
    """The layer of `wiro_mcp.x.y` (its first name below the package)."""
    first = module.split(".")[1] if "." in module else "__init__"
    if first in SHARED:
        return "shared"
    if first in TOP_MODULES:
        return "top"
    return first


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(module: str, path: Path) -> set[str]:
    """The wiro_mcp modules `path` imports, resolved to absolute names."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from .. import budgets` names a module (the package's __init__ is not what it reads);
            # `from .. import __version__` names the package.
            names = [f"{target}.{a.name}" for a in node.names if is_module(f"{target}.{a.name}")]
            whole = len(names) < len(node.names)
            found |= {t for t in [*names, *([target] if whole else [])] if t.startswith("wiro_mcp.") and is_module(t)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("wiro_mcp.")}
    return found


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_imports_point_down(module: str, path: Path) -> None:
    mine = part_of(module)
    for target in imports_of(module, path):
        theirs = part_of(target)
        if theirs in (mine, "shared") or target == "wiro_mcp":
            continue
        assert theirs in ALLOWED[mine], f"{module} ({mine}) imports {target} ({theirs})"


def test_no_import_circle_even_for_types() -> None:
    """Every import counts, those under TYPE_CHECKING and inside functions too: a part that needs the
    object that builds it names a narrow Protocol (service/ports.py, sandbox/config.py `Host`)."""
    graph = {module: imports_of(module, path) - {module} for module, path in modules()}
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            assert target not in path, "an import circle: " + " → ".join([*path[path.index(target) :], target])
            if target not in done:
                walk(target, [*path, target])
        done.add(module)

    for module in graph:
        walk(module, [module])


def test_shared_modules_import_only_each_other() -> None:
    for module, path in modules():
        if part_of(module) == "shared":
            assert {part_of(t) for t in imports_of(module, path)} <= {"shared"}, module


def test_only_the_adapter_imports_mcp() -> None:
    for module, path in modules():
        tree = ast.parse(path.read_text())
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        if any(name == "mcp" or name.startswith(("mcp.", "mcp_types")) for name in names):
            assert part_of(module) in ("adapter", "top"), module


def test_every_package_says_its_job_and_no_module_passes_300_lines() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init} has no docstring"
    long = [
        f"{p.relative_to(PACKAGE)} ({n})" for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 300
    ]
    assert not long, f"over 300 lines: {long}"
    top = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= 8, f"more than eight modules at the top: {sorted(top)}"


def test_architecture_names_every_module() -> None:
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    missing = [
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
    ]
    missing = [m for m in missing if f"`{Path(m).name}`" not in text]
    assert not missing, f"ARCHITECTURE.md's module table misses {missing}"


def test_every_time_budget_lives_in_budgets_py() -> None:
    """A module-level duration (…_SECONDS, …_TIMEOUT, …_MS, …_WAIT) outside wiro_mcp/budgets.py is made from
    budgets.py's own, never a number of its own (the sandbox, which stands in for Wiro, keeps its own)."""
    import re

    package = Path(__file__).resolve().parent.parent / "wiro_mcp"
    pattern = re.compile(r"^([A-Z][A-Z_]*(?:SECONDS|TIMEOUT|_MS|WAIT))\s*(?::[^=]+)?=\s*(.+)$", re.M)
    stray = [
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py")
        if path.name != "budgets.py" and "sandbox" not in path.parts
        for name, value in pattern.findall(path.read_text(encoding="utf-8"))
        if "budgets." not in value and not value.rstrip().endswith("(")  # a call over lines: checked below
    ]
    assert stray == []
    made = (package / "wiro" / "client.py").read_text(encoding="utf-8")
    assert "UPLOAD_TIMEOUT = httpx2.Timeout(\n    budgets." in made
