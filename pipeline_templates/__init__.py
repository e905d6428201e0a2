"""Kubeflow Pipelines templates for Vertex AI Pipelines, fed by the platform's feedback.

Use-case teams fork these modules. Each template module exposes
``pipeline(image)`` (the Vertex AI pipeline), ``local_pipeline(image)`` (the
steps that run on the embedded default under ``kfp.local``), ``NAME`` and
``MANAGED_STEPS``; the components live in ``pipeline_templates.components``
and their logic in ``llmops.pipelines``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from kfp import compiler

from llmops.errors import InputError

# Template name -> module; the CLI's NAME arguments.
TEMPLATES = {
    "preference-tuning": "pipeline_templates.preference_tuning",
    "supervised-tuning": "pipeline_templates.supervised_tuning",
    "evaluation": "pipeline_templates.evaluation",
}


def template(name: str) -> ModuleType:
    """The named template's module, or InputError naming the known ones."""
    if name not in TEMPLATES:
        raise InputError(
            f"pipeline template {name!r} is not known; choose one of "
            f"{', '.join(TEMPLATES)}"
        )
    return importlib.import_module(TEMPLATES[name])


def compile_template(name: str, path: Path, image: str) -> Path:
    """Compile the named template for Vertex AI to ``path`` (YAML)."""
    module = template(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(module.pipeline(image), str(path))
    return path


def compile_all(directory: Path, image: str) -> list[Path]:
    """Compile every template to ``directory/<name>.yaml``."""
    return [
        compile_template(name, directory / f"{name}.yaml", image) for name in TEMPLATES
    ]
