"""Evaluation of a model and template version over a held-out dataset.

Fork this module to add metrics or change where answers come from; the
functions it runs live in ``llmops.pipelines``.
"""

from collections.abc import Mapping
from typing import Any

from kfp import dsl
from kfp.dsl.graph_component import GraphComponent

from llmops.pipelines.parameters import check_evaluation, run_check
from llmops.pipelines.split import DEFAULT_EVAL_FRACTION, DEFAULT_SALT
from pipeline_templates.components import (
    LOCATION_PLACEHOLDER,
    PROJECT_PLACEHOLDER,
    LocalOutputs,
    evaluate_model,
    prepare_data,
    validate_evaluation,
)

NAME = "evaluation"
PIPELINE_NAME = "llmops-evaluation"
LOCAL_PIPELINE_NAME = "llmops-evaluation-local"
# Nothing in this template needs managed tuning; a local run runs all of it.
MANAGED_STEPS: tuple[str, ...] = ()


def _steps(
    image: str,
    *,
    project: str,
    location: str,
    dataset: str,
    bigquery_endpoint: str,
    use_case: str,
    model_name: str,
    template_name: str,
    template_version: int,
    prediction_source: str,
    eval_dataset_uri: str,
    eval_fraction: float,
    split_salt: str,
    embedding_backend: str,
    embedding_model: str,
    baseline_id: str,
    labels: dict,
) -> tuple[dsl.PipelineTask, dsl.PipelineTask]:
    validated = validate_evaluation.component(image)(
        template=NAME,
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
    ).set_display_name("validate-evaluation")
    # The held-out split of the supervised export: the same prompts the tuning
    # templates hold out, so no evaluated prompt was trained on.
    prepared = prepare_data.component(image)(
        project=project,
        dataset=dataset,
        bigquery_endpoint=bigquery_endpoint,
        pipeline=NAME,
        kind="supervised",
        tuner="gemini",
        use_case=use_case,
        template_name=template_name,
        eval_fraction=eval_fraction,
        split_salt=split_salt,
        min_score_gap=2.0,
        min_accepted_score=4.0,
    ).set_display_name("prepare-data")
    prepared.after(validated)
    evaluated = evaluate_model.component(image)(
        project=project,
        location=location,
        dataset=dataset,
        bigquery_endpoint=bigquery_endpoint,
        pipeline=NAME,
        evaluation_id=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        run_suffix="",
        use_case=use_case,
        model_name=model_name,
        template_name=template_name,
        template_version=template_version,
        prediction_source=prediction_source,
        tuner_format=prepared.outputs["tuner_format"],
        held_out=prepared.outputs["evaluation"],
        eval_dataset_uri=eval_dataset_uri,
        embedding_backend=embedding_backend,
        embedding_model=embedding_model,
        baseline_id=baseline_id,
    ).set_display_name("evaluate-model")
    return prepared, evaluated


def check(values: Mapping[str, Any]) -> None:
    """Run the first task's checks on a run's parameter values before submitting.

    ``values`` holds every pipeline parameter, defaults included, with project
    and location already resolved.
    """
    run_check(check_evaluation, values, template=NAME)


def pipeline(image: str) -> GraphComponent:
    """The cloud pipeline, its components on the runtime ``image``."""

    @dsl.pipeline(name=PIPELINE_NAME, description=__doc__.splitlines()[0])
    def evaluation(
        use_case: str,
        dataset: str,
        model_name: str,
        template_name: str = "",
        template_version: int = 0,
        prediction_source: str = "replay",
        eval_dataset_uri: str = "",
        eval_fraction: float = DEFAULT_EVAL_FRACTION,
        split_salt: str = DEFAULT_SALT,
        embedding_backend: str = "vertex",
        embedding_model: str = "text-embedding-005",
        baseline_id: str = "",
        bigquery_endpoint: str = "",
        labels: dict = {},  # noqa: B006 - a pipeline default, never mutated
        project: str = PROJECT_PLACEHOLDER,
        location: str = LOCATION_PLACEHOLDER,
    ) -> None:
        """Score a model and template version and compare with a baseline run.

        Steps, as the DAG runs them:

        1. validate-evaluation: check every parameter.
        2. prepare-data: the held-out split of the supervised export
           (corrections and accepted answers), by prompt hash.
        3. evaluate-model: answers by ``prediction_source`` (``replay``: the
           model's logged answers; ``generate``: fresh answers from
           ``model_name``), over ``eval_dataset_uri`` when given, else the
           split; exact match, token F1, embedding similarity, length and
           safety flags; compared with ``baseline_id``; written to the
           evaluations table and the run's metrics.
        """
        _steps(
            image,
            project=project,
            location=location,
            dataset=dataset,
            bigquery_endpoint=bigquery_endpoint,
            use_case=use_case,
            model_name=model_name,
            template_name=template_name,
            template_version=template_version,
            prediction_source=prediction_source,
            eval_dataset_uri=eval_dataset_uri,
            eval_fraction=eval_fraction,
            split_salt=split_salt,
            embedding_backend=embedding_backend,
            embedding_model=embedding_model,
            baseline_id=baseline_id,
            labels=labels,
        )

    return evaluation


def local_pipeline(image: str) -> GraphComponent:
    """The whole evaluation on the embedded default, replaying logged answers."""

    @dsl.pipeline(name=LOCAL_PIPELINE_NAME, description=__doc__.splitlines()[0])
    def evaluation_local(
        use_case: str,
        dataset: str,
        bigquery_endpoint: str,
        project: str,
        location: str,
        current_model: str = "gemini-2.5-flash",
        template_name: str = "",
        template_version: int = 0,
        eval_fraction: float = DEFAULT_EVAL_FRACTION,
        split_salt: str = DEFAULT_SALT,
        embedding_backend: str = "local",
        embedding_model: str = "all-MiniLM-L6-v2",
        baseline_id: str = "",
    ) -> LocalOutputs:
        """The evaluation pipeline with replayed answers, for a local run.

        Steps, as the DAG runs them: validate-evaluation, prepare-data,
        evaluate-model.
        """
        prepared, evaluated = _steps(
            image,
            project=project,
            location=location,
            dataset=dataset,
            bigquery_endpoint=bigquery_endpoint,
            use_case=use_case,
            model_name=current_model,
            template_name=template_name,
            template_version=template_version,
            prediction_source="replay",
            eval_dataset_uri="",
            eval_fraction=eval_fraction,
            split_salt=split_salt,
            embedding_backend=embedding_backend,
            embedding_model=embedding_model,
            baseline_id=baseline_id,
            labels={},
        )
        return LocalOutputs(
            train=prepared.outputs["train"],
            evaluation=prepared.outputs["evaluation"],
            data_card=prepared.outputs["data_card"],
            report=evaluated.outputs["report"],
        )

    return evaluation_local
