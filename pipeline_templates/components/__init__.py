"""Kubeflow components, one per module, each a thin wrapper over ``llmops.pipelines``.

Every module exposes ``component(image)``: the lightweight component built on
the platform's runtime image, which already holds kfp and the ``llmops``
package (so nothing is pip-installed when a task starts). The function it
wraps imports what it needs inside its body, as Kubeflow requires.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

from kfp import dsl
from kfp.dsl.python_component import PythonComponent


def lightweight(func: Callable[..., Any], image: str) -> PythonComponent:
    """``func`` as a component on ``image``, without installing kfp at run time."""
    return dsl.component(func, base_image=image, install_kfp_package=False)


# Vertex AI fills these in when the run starts: the pipeline's own project and
# region, so a compiled template names neither.
PROJECT_PLACEHOLDER = "{{$.pipeline_google_cloud_project_id}}"
LOCATION_PLACEHOLDER = "{{$.pipeline_google_cloud_location}}"


class LocalOutputs(NamedTuple):
    """What a template's local pipeline returns: the files a local run keeps."""

    train: dsl.Dataset
    evaluation: dsl.Dataset
    data_card: dsl.Markdown
    report: dsl.Artifact
