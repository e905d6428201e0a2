"""Managed Gemini tuning (supervised or preference) on Vertex AI."""

from typing import NamedTuple

from kfp.dsl.python_component import PythonComponent

from pipeline_templates.components import lightweight


def tune_gemini(
    project: str,
    location: str,
    method: str,
    base_model: str,
    train_uri: str,
    eval_uri: str,
    tuned_model_display_name: str,
    epochs: int,
    labels: dict,
) -> NamedTuple("Tuned", [("model", str), ("endpoint", str)]):
    """Run a tuning job on the training JSONL; return the tuned model and endpoint."""
    import collections

    from llmops.pipelines.tuning import tune_gemini as run_tuning
    from llmops.pipelines.tuning import vertex_client

    tuned = run_tuning(
        vertex_client(project, location),
        method=method,
        base_model=base_model,
        train_uri=train_uri,
        eval_uri=eval_uri,
        display_name=tuned_model_display_name,
        epochs=epochs,
        labels=labels,
    )
    result = collections.namedtuple("Tuned", ["model", "endpoint"])
    return result(tuned.model, tuned.endpoint)


def component(image: str) -> PythonComponent:
    """The component on ``image``."""
    return lightweight(tune_gemini, image)
