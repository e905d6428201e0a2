"""First task of the tuning templates: check every parameter before any work."""

from kfp.dsl.python_component import PythonComponent

from pipeline_templates.components import lightweight


def validate_tuning(
    template: str,
    project: str,
    location: str,
    dataset: str,
    use_case: str,
    kind: str,
    tuner: str,
    base_model: str,
    tuned_model_display_name: str,
    eval_fraction: float,
    min_new_examples: int,
    epochs: int,
    labels: dict,
    template_version: int = 0,
    embedding_backend: str = "",
    min_score_gap: float = 2.0,
    min_accepted_score: float = 4.0,
) -> None:
    """Fail the run, naming every invalid parameter, before anything is read."""
    from llmops.pipelines.parameters import check_tuning

    check_tuning(
        template=template,
        project=project,
        location=location,
        dataset=dataset,
        use_case=use_case,
        kind=kind,
        tuner=tuner,
        base_model=base_model,
        tuned_model_display_name=tuned_model_display_name,
        eval_fraction=eval_fraction,
        min_new_examples=min_new_examples,
        epochs=epochs,
        labels=labels,
        template_version=template_version,
        embedding_backend=embedding_backend,
        min_score_gap=min_score_gap,
        min_accepted_score=min_accepted_score,
    )


def component(image: str) -> PythonComponent:
    """The component on ``image``."""
    return lightweight(validate_tuning, image)
