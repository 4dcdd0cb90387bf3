"""The docs: the generated pages match the code, the config and the benchmark files they are made from;
every command the README and the docs show parses with options the CLI has; the README stays short and
shows the getting-started page's two commands. (The tour's commands run in tests/test_cli.py.)"""

from __future__ import annotations

import importlib.util
import re

import pytest
import typer
from pydantic import BaseModel

from bilstm.config import PipelineConfig, flatten
from deployments.cli import app
from tests.doc_blocks import GETTING_STARTED, PAGES, README, ROOT, bash_blocks, command_lines, marked_block


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_page_is_what_the_generator_makes_from_the_code_and_the_bench_files_now():
    stale = _generator().stale_pages()
    assert not stale, f"stale generated docs: {', '.join(stale)}; run `python docs/generate.py`"


def test_every_config_field_has_a_description_for_the_reference_and_the_prefect_form():
    def undescribed(model: type[BaseModel], prefix: str) -> list[str]:
        missing = [] if model.__doc__ or model is PipelineConfig else [f"{prefix}(section docstring)"]
        for name, field in model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                missing += undescribed(field.annotation, f"{prefix}{name}.")
            elif not field.description:
                missing.append(prefix + name)
        return missing

    assert undescribed(PipelineConfig, "") == []


def test_the_readme_is_short_and_shows_the_getting_started_commands_that_ci_runs():
    readme = README.read_text()
    assert len(readme.splitlines()) <= 250
    for marker in ("command: main job", "command: tests"):
        command = marked_block(GETTING_STARTED, marker).strip()
        assert f"```bash\n{command}\n```" in readme, f"the README lacks {marker!r}: {command}"
    # .ci/run runs the test command's pytest (python -m pytest, with the extras it installs)
    tests = marked_block(GETTING_STARTED, "command: tests")
    assert tests.strip().endswith(".venv/bin/python -m pytest")
    assert re.search(r'pip install .*-e "\.\[dev,cluster', (ROOT / ".ci" / "run").read_text())


def _shown(program: str) -> list[tuple[str, list[str]]]:
    return [
        (page.name, argv[1:])
        for page in PAGES
        for block in bash_blocks(page)
        for argv in command_lines(block)
        if argv[0] == program
    ]


BILSTM_SHOWN = _shown("bilstm")


@pytest.mark.parametrize(
    ("page", "args"), BILSTM_SHOWN, ids=[f"{p}: {' '.join(a)}"[:70] for p, a in BILSTM_SHOWN]
)
def test_a_bilstm_command_the_docs_show_parses_and_sets_config_fields_that_exist(page, args):
    root = typer.main.get_command(app)
    name, *rest = args
    command = root.get_command(root.context_class(root, info_name="bilstm"), name)
    assert command is not None, f"{page}: no command bilstm {name}"
    params = command.make_context(name, rest).params
    fields = set(flatten(PipelineConfig()))
    for setting in params.get("set_") or ():
        assert setting.split("=")[0] in fields, f"{page}: --set {setting}: no such config field"


def test_every_mlflow_command_the_docs_show_parses():
    import click
    from mlflow.cli import cli

    for page, args in _shown("mlflow"):
        command, context, name, words = cli, None, "mlflow", list(args)
        while isinstance(command, click.Group):  # down to the subcommand (`mlflow models serve`)
            context = command.make_context(name, words, parent=context)
            name, *words = context.protected_args + context.args
            command = command.get_command(context, name)
            assert command is not None, f"{page}: no command mlflow {' '.join(args)}"
        command.make_context(name, words, parent=context)
