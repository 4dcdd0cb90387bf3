"""The layers import only downwards: the core (`bilstm`) never imports Prefect, MLflow or the app packages
(cli.py only lazily, inside its commands); the MLflow adapter (`tracking`) never imports Prefect or the
layers above it; the tasks never import the flows or the deployments; the flows never import the
deployments (the servers and processes that run them)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "bilstm"
FORBIDDEN = {"prefect", "mlflow"}
ENTRY_MODULES = ("flows", "tasks", "deployments")  # the app-level packages, imported lazily by the CLI
# what each app-level package must not import, at any depth of its modules
LAYERS = {
    "tracking": {"prefect", "tasks", "flows", "deployments"},
    "tasks": {"flows", "deployments"},
    "flows": {"deployments"},
}


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
def test_core_module_does_not_import_prefect_mlflow_or_the_app(path):
    tree = ast.parse(path.read_text())
    forbidden = FORBIDDEN | set(ENTRY_MODULES) | {"tracking"}
    if path.name == "cli.py":
        assert not imported_roots(tree, top_level_only=True) & forbidden
    else:
        assert not imported_roots(tree, top_level_only=False) & forbidden


@pytest.mark.parametrize(
    "path",
    sorted(path for package in LAYERS for path in (ROOT / package).rglob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_app_module_imports_no_layer_above_it(path):
    forbidden = LAYERS[path.relative_to(ROOT).parts[0]]
    assert not imported_roots(ast.parse(path.read_text()), top_level_only=False) & forbidden


def test_importing_the_whole_core_loads_neither_prefect_nor_mlflow():
    modules = ", ".join(f"bilstm.{p.stem}" for p in sorted(CORE.glob("*.py")) if p.stem != "__init__")
    code = (
        f"import sys, {modules}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'mlflow'})\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_importing_the_tracking_adapter_loads_no_prefect():
    modules = ", ".join(f"tracking.{p.stem}" for p in sorted((ROOT / "tracking").glob("*.py")))
    code = f"import sys, {modules}\nassert 'prefect' not in {{m.split('.')[0] for m in sys.modules}}"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
