"""The one-way stack (docs/architecture.md), beyond what `lint-imports` checks.

`lint-imports` (run by ``python3 dev.py test`` before pytest) enforces the layers contract
in pyproject.toml. These tests keep that contract honest: it must name every app, and no
app may reach another from inside a function (the way cycles used to be dodged); the only
such imports allowed are in an ``AppConfig.ready()``, where Django wants them.
"""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "relais"


def apps() -> set[str]:
    return {p.parent.name for p in PACKAGE.glob("*/apps.py")}


def contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_the_layers_contract_names_every_app_once():
    layers = next(c["layers"] for c in contracts() if c["type"] == "layers")
    assert sorted(layers) == sorted(f"relais.{app}" for app in apps())
    assert layers[-1] == "relais.core"  # the leaf
    assert layers[0] == "relais.demo"  # nothing imports the demo


def _function_imports(tree: ast.AST):
    """(function name, imported module, line) for every import inside a function."""
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    yield fn.name, node.module, node.lineno
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        yield fn.name, alias.name, node.lineno


def test_no_app_imports_another_from_inside_a_function():
    found = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2 or "migrations" in rel.parts:
            continue
        app = rel.parts[0]
        for function, module, line in _function_imports(ast.parse(path.read_text())):
            parts = module.split(".")
            if parts[0] != "relais" or len(parts) < 2 or parts[1] == app:
                continue
            if rel.name == "apps.py" and function == "ready":
                continue
            found.append(f"{rel}:{line} imports {module} inside {function}()")
    assert found == []


def test_the_checker_sees_a_function_level_import():
    code = "def f():\n    from relais.routing import services\n"
    assert list(_function_imports(ast.parse(code))) == [("f", "relais.routing", 2)]
