"""The settings package: read the environment, start nothing, assign each setting once."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_DIR = BASE_DIR / "olympus" / "settings"
SETTINGS_MODULES = sorted(SETTINGS_DIR.glob("*.py"))

IMPORT_SETTINGS = """
import importlib, json, os, sys
try:
    importlib.import_module(sys.argv[1])
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__}))
else:
    print(json.dumps({"error": None}))
"""


def _import_settings(module: str, tmp_path: Path, **env: str) -> str:
    data_dir = tmp_path / "data"
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "OLYMPUS_EMBEDDED"}}
    clean.update(env, OLYMPUS_DATA_DIR=str(data_dir))
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", IMPORT_SETTINGS, module],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(BASE_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert not data_dir.exists(), "importing settings created the embedded servers' data folder"
    return out.stdout


def test_importing_settings_without_urls_starts_nothing_and_says_what_is_missing(tmp_path):
    out = _import_settings("olympus.settings.dev", tmp_path)

    assert '"error": "ImproperlyConfigured"' in out


def test_importing_settings_with_urls_only_reads_them(tmp_path):
    out = _import_settings(
        "olympus.settings.test",
        tmp_path,
        DATABASE_URL="postgresql://nobody@127.0.0.1:9/none",
        REDIS_URL="redis://127.0.0.1:9/0",
    )

    assert '"error": null' in out


def _assignments(tree: ast.Module) -> list[tuple[str, int]]:
    """Top-level names a module assigns, subscript stores on a setting counted as assigning it."""
    found = []
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                while isinstance(element, ast.Subscript):
                    element = element.value
                if isinstance(element, ast.Name) and element.id.isupper():
                    found.append((element.id, node.lineno))
    return found


def test_no_settings_module_assigns_a_setting_twice():
    twice = {}
    for module in SETTINGS_MODULES:
        names = [name for name, _ in _assignments(ast.parse(module.read_text()))]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            twice[module.name] = repeated
    assert twice == {}


def test_the_beat_schedule_is_defined_once_in_one_place():
    places = [
        (module.name, line)
        for module in SETTINGS_MODULES
        for name, line in _assignments(ast.parse(module.read_text()))
        if name == "CELERY_BEAT_SCHEDULE"
    ]

    assert len(places) == 1, places


def test_code_reads_django_conf_settings_never_a_settings_module():
    pattern = re.compile(r"^\s*(from olympus\.settings|import olympus\.settings|from olympus import settings)", re.M)
    offenders = []
    for folder in ("apps", "olympus", "tools"):
        for path in (BASE_DIR / folder).rglob("*.py"):
            relative = path.relative_to(BASE_DIR)
            # settings modules themselves (the bench's extends dev), and tests of the settings' own values
            if relative.parts[:2] == ("olympus", "settings") or "tests" in relative.parts:
                continue
            if str(relative) == "tools/bench/settings.py":
                continue
            if pattern.search(path.read_text()):
                offenders.append(str(relative))

    assert offenders == []
