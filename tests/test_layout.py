"""Tooling stays out of the runtime: nothing the image runs imports tools/, and the image leaves it out."""

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def test_runtime_packages_never_import_the_tools():
    pattern = re.compile(r"^\s*(from tools[ .]|import tools\b)|[\"']-m[\"'],\s*[\"']tools\.", re.M)
    offenders = [
        str(path.relative_to(BASE_DIR))
        for folder in ("apps", "olympus")
        for path in (BASE_DIR / folder).rglob("*.py")
        if "tests" not in path.relative_to(BASE_DIR).parts and pattern.search(path.read_text())
    ]
    # make run (a development command) starts the local Stripe from tools/ when no Stripe key is set
    assert offenders == ["olympus/launch.py"]


def test_the_docker_image_leaves_the_tools_out():
    ignored = {line.strip().rstrip("/") for line in (BASE_DIR / ".dockerignore").read_text().splitlines()}

    assert {"tools", "tests", "docs"} <= ignored


def test_no_benchmark_module_is_left_in_an_app():
    leftovers = [str(p.relative_to(BASE_DIR)) for p in (BASE_DIR / "apps").glob("*/bench*.py")]
    leftovers += [str(p.relative_to(BASE_DIR)) for p in (BASE_DIR / "olympus").glob("*bench*.py")]

    assert leftovers == []
