"""Services import their tasks at module level; tasks import services inside the task body.

One convention, so no function-level import is needed to dodge a cycle (import-linter cannot tell a
module-level import from one in a function body: this test does).
"""

import ast
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parent.parent / "apps"
TASK_MODULES = sorted(APPS.glob("*/tasks.py"))
SERVICE_MODULES = sorted(
    [*APPS.glob("*/services.py"), *APPS.glob("*/services/*.py"), *APPS.glob("*/events.py")],
)


def _imports(tree: ast.Module, *, module_level: bool) -> list[tuple[int, str]]:
    top = set(tree.body)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or (node in top) != module_level:
            continue
        names = [f"{node.module}.{alias.name}" for alias in node.names]
        found += [(node.lineno, name) for name in [node.module or "", *names]]
    return found


@pytest.mark.parametrize("path", TASK_MODULES, ids=lambda p: str(p.relative_to(APPS)))
def test_tasks_import_services_only_inside_the_task_body(path):
    tree = ast.parse(path.read_text())
    offenders = [(line, name) for line, name in _imports(tree, module_level=True) if name.split(".")[-1] == "services"]
    assert offenders == []


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=lambda p: str(p.relative_to(APPS)))
def test_services_import_tasks_at_module_level(path):
    tree = ast.parse(path.read_text())
    offenders = [(line, name) for line, name in _imports(tree, module_level=False) if "tasks" in name.split(".")]
    assert offenders == []


def test_the_check_sees_something():
    assert len(TASK_MODULES) >= 8
    assert len(SERVICE_MODULES) >= 10
