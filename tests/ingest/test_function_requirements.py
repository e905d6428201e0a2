"""The deployed function's requirements cover what its code imports."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "functions" / "ingest"
# Imported only on the embedded default, by the CLI or by the SDK side
# (logging, prompts, pipelines), never by the deployed function.
NOT_DEPLOYED = (
    "llmops.backends.local_embeddings",
    "llmops.local",
    "llmops.cli",
    "llmops.monitoring",
    "llmops.prompts",
    "llmops.pipelines",
    "llmops.plan",
    "llmops.demo",
)
# Imported only when a setting asks for it (a spaCy names model).
OPTIONAL = {"spacy"}


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def third_party_imports() -> set[str]:
    """Top-level third-party modules the function's code can import."""
    seen, queue, outside = set(), [FUNCTION / "main.py"], set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "llmops":
                if name.startswith(NOT_DEPLOYED):
                    continue
                module = _module_file(name)
                if module is not None:
                    queue.append(module)
            elif top not in sys.stdlib_module_names | OPTIONAL | {"__future__"}:
                outside.add(top)
    return outside


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_requirements_name_every_distribution_the_function_imports() -> None:
    """Every third-party import of the deployed code is in requirements.txt."""
    listed = {
        _normal(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0])
        for line in (FUNCTION / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(third_party_imports()):
        names = {_normal(d) for d in distributions.get(module, [module])}
        if not names & listed:
            missing[module] = sorted(names)
    assert missing == {}, f"add to functions/ingest/requirements.txt: {missing}"
