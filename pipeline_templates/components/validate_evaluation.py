"""First task of the evaluation template: check every parameter before any work."""

from kfp.dsl.python_component import PythonComponent

from pipeline_templates.components import lightweight


def validate_evaluation(
    template: str,
    project: str,
    location: str,
    dataset: str,
    use_case: str,
    model_name: str,
    template_version: int,
    prediction_source: str,
    embedding_backend: str,
    eval_fraction: float,
    baseline_id: str,
    labels: dict,
    eval_dataset_uri: str = "",
) -> None:
    """Fail the run, naming every invalid parameter, before anything is read."""
    from llmops.pipelines.parameters import check_evaluation

    check_evaluation(
        template=template,
        project=project,
        location=location,
        dataset=dataset,
        use_case=use_case,
        model_name=model_name,
        template_version=template_version,
        prediction_source=prediction_source,
        embedding_backend=embedding_backend,
        eval_fraction=eval_fraction,
        baseline_id=baseline_id,
        labels=labels,
        eval_dataset_uri=eval_dataset_uri,
    )


def component(image: str) -> PythonComponent:
    """The component on ``image``."""
    return lightweight(validate_evaluation, image)
