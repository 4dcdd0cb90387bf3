"""The core library never imports Prefect or MLflow (cli.py only lazily, inside its commands)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "bilstm"
FORBIDDEN = {"prefect", "mlflow"}
ENTRY_MODULES = ("flows", "tasks", "deployments")  # the app-level packages, imported lazily by the CLI


def imported_roots(tree: ast.AST, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    roots = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_core_module_does_not_import_prefect_or_mlflow(path):
    tree = ast.parse(path.read_text())
    if path.name == "cli.py":
        assert not imported_roots(tree, top_level_only=True) & (FORBIDDEN | set(ENTRY_MODULES))
    else:
        assert not imported_roots(tree, top_level_only=False) & (FORBIDDEN | set(ENTRY_MODULES))


def test_importing_the_whole_core_loads_neither_prefect_nor_mlflow():
    modules = ", ".join(f"bilstm.{p.stem}" for p in sorted(CORE.glob("*.py")) if p.stem != "__init__")
    code = (
        f"import sys, {modules}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'mlflow'})\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
