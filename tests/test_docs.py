"""The docs live in the repository and stay true: links resolve, nothing points outside,
every page is reachable from the README, and every environment variable is documented."""

import ast
import re
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
README = BASE_DIR / "README.md"
DOCS = BASE_DIR / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    return LINK.findall(text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    heading = re.sub(r"[`*_]", "", heading.strip().lower())
    heading = re.sub(r"[^\w\- ]", "", heading)
    return heading.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _resolve(page: Path, target: str) -> tuple[Path, str]:
    path, _, anchor = target.partition("#")
    return ((page.parent / path).resolve() if path else page), anchor


def test_readme_is_short():
    assert README.stat().st_size < 12 * 1024


def test_every_relative_link_resolves_inside_the_repository():
    broken = []
    for page in PAGES:
        for target in _links(page):
            parts = urlsplit(target)
            if parts.scheme or target.startswith("//"):
                if parts.hostname not in LOCAL_HOSTS:
                    broken.append(f"{page.relative_to(BASE_DIR)}: {target} points outside the repository")
                continue
            path, anchor = _resolve(page, target)
            if not path.is_relative_to(BASE_DIR):
                broken.append(f"{page.relative_to(BASE_DIR)}: {target} points outside the repository")
            elif not path.exists():
                broken.append(f"{page.relative_to(BASE_DIR)}: {target} does not exist")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{page.relative_to(BASE_DIR)}: {target} has no such heading")

    assert broken == []


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = set(), [README]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        for target in _links(page):
            path, _ = _resolve(page, target)
            if path.suffix == ".md" and path.exists() and not urlsplit(target).scheme:
                todo.append(path)

    assert sorted(str(p.relative_to(BASE_DIR)) for p in set(PAGES) - seen) == []


def test_nothing_in_the_repository_mentions_paths_outside_it():
    offenders = [
        str(path.relative_to(BASE_DIR))
        for pattern in ("*.md", "*.py", "*.toml", "*.yml", "Makefile")
        for path in BASE_DIR.rglob(pattern)
        if not {".venv", ".data", ".git", "node_modules"} & set(path.relative_to(BASE_DIR).parts)
        and "../shared" in path.read_text(errors="ignore")
        and path != Path(__file__)
    ]

    assert offenders == []


def _settings_env_reads() -> set[str]:
    """Names the settings read from the environment: env.<cast>("NAME", ...), os.environ.get("NAME")."""
    names = set()
    for module in (BASE_DIR / "olympus" / "settings").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                continue
            func = node.func
            if not isinstance(func, ast.Attribute) or not isinstance(node.args[0].value, str):
                continue
            reads_env = isinstance(func.value, ast.Name) and func.value.id == "env"
            reads_os = ast.unparse(func) in {"os.environ.get", "os.getenv"}
            if reads_env or reads_os:
                names.add(node.args[0].value)
    return names


def _process_env_reads() -> set[str]:
    """Variables the processes read outside the settings (bootstrap, embedded servers, launcher)."""
    pattern = re.compile(r"os\.environ\.get\(\s*\"([A-Z_0-9]+)\"|os\.environ\.get\(\s*([A-Z_]+)\b")
    names = set()
    for module in (BASE_DIR / "olympus").glob("*.py"):
        text = module.read_text()
        for literal, constant in pattern.findall(text):
            if literal:
                names.add(literal)
            elif match := re.search(rf"^{constant}\s*=\s*\"([A-Z_0-9]+)\"", text, re.M):
                names.add(match.group(1))
    return names - {"PATH"}


def test_the_configuration_page_lists_every_variable_the_settings_read():
    first_cells = [
        line.split("|")[1] for line in (DOCS / "configuration.md").read_text().splitlines() if line[:1] == "|"
    ]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z_0-9]+)`", cell)}
    read = _settings_env_reads() | _process_env_reads()

    assert len(read) > 60  # the parser found the reads
    assert sorted(read - documented) == []
