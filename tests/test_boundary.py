"""The layers import only downwards: deployments (the command line, the servers and processes that run flows)
-> flows -> tasks -> tracking (the MLflow adapter) -> bilstm (the core), at any depth of a module, lazy
imports inside functions and `importlib.import_module("...")` included. Besides, the core never imports
Prefect or MLflow, and the MLflow adapter never imports Prefect."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "bilstm"
LAYERS = ("bilstm", "tracking", "tasks", "flows", "deployments")  # each imports only the ones before it
FORBIDDEN = {"bilstm": {"prefect", "mlflow"}, "tracking": {"prefect"}}  # libraries besides the layers above


def imported(tree: ast.AST) -> list[tuple[str, int]]:
    """The top-level package and line of every absolute import in `tree`, wherever it stands."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module.split(".")[0], node.lineno))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize(
    "path",
    sorted(path for layer in LAYERS for path in (ROOT / layer).rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_a_module_imports_no_layer_above_its_own(path):
    layer = path.relative_to(ROOT).parts[0]
    barred = set(LAYERS[LAYERS.index(layer) + 1 :]) | FORBIDDEN.get(layer, set())
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for name, line in imported(ast.parse(path.read_text()))
        if name in barred
    ]
    assert not upward, (
        f"imports the {layer} layer must not make (a layer above, Prefect or MLflow): " + "; ".join(upward)
    )


def test_the_layer_check_finds_lazy_and_string_imports():
    tree = ast.parse(
        "def f():\n    import flows.train\n    importlib.import_module('tasks.data')\nfrom . import x\n"
    )
    assert imported(tree) == [("flows", 2), ("tasks", 3)]


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
