"""Supervised tuning of Gemini on corrected responses and accepted answers.

Fork this module to change what counts as an accepted answer, the base model
or the evaluation; the functions it runs live in ``llmops.pipelines``.
"""

from collections.abc import Mapping
from typing import Any

from kfp import dsl
from kfp.dsl.graph_component import GraphComponent

from llmops.pipelines.feedback import DEFAULT_MIN_ACCEPTED_SCORE
from llmops.pipelines.parameters import check_tuning, run_check
from llmops.pipelines.split import DEFAULT_EVAL_FRACTION, DEFAULT_SALT
from pipeline_templates.components import (
    LOCATION_PLACEHOLDER,
    PROJECT_PLACEHOLDER,
    LocalOutputs,
    count_new_feedback,
    evaluate_model,
    prepare_data,
    tune_gemini,
    validate_tuning,
    write_model_card,
)

NAME = "supervised-tuning"
PIPELINE_NAME = "llmops-supervised-tuning"
LOCAL_PIPELINE_NAME = "llmops-supervised-tuning-local"
KIND = "supervised"
TUNER = "gemini"
# Steps that need Vertex AI; a local run stops before them.
MANAGED_STEPS = (
    "tune-gemini (Gemini supervised tuning)",
    "evaluate-tuned",
    "write-model-card",
)


def _prepare_and_baseline(
    image: str,
    *,
    project: str,
    location: str,
    dataset: str,
    bigquery_endpoint: str,
    use_case: str,
    template_name: str,
    template_version: int,
    current_model: str,
    eval_fraction: float,
    split_salt: str,
    min_accepted_score: float,
    embedding_backend: str,
    embedding_model: str,
) -> tuple[dsl.PipelineTask, dsl.PipelineTask]:
    # Shared by the cloud and the local pipeline: export and split, then score
    # the current model's logged answers on the held-out prompts.
    prepared = prepare_data.component(image)(
        project=project,
        dataset=dataset,
        bigquery_endpoint=bigquery_endpoint,
        pipeline=NAME,
        kind=KIND,
        tuner=TUNER,
        use_case=use_case,
        template_name=template_name,
        eval_fraction=eval_fraction,
        split_salt=split_salt,
        min_score_gap=2.0,
        min_accepted_score=min_accepted_score,
    ).set_display_name("prepare-data")
    baseline = evaluate_model.component(image)(
        project=project,
        location=location,
        dataset=dataset,
        bigquery_endpoint=bigquery_endpoint,
        pipeline=NAME,
        evaluation_id=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        run_suffix="baseline",
        use_case=use_case,
        model_name=current_model,
        template_name=template_name,
        template_version=template_version,
        prediction_source="replay",
        tuner_format=prepared.outputs["tuner_format"],
        held_out=prepared.outputs["evaluation"],
        eval_dataset_uri="",
        embedding_backend=embedding_backend,
        embedding_model=embedding_model,
        baseline_id="",
    ).set_display_name("evaluate-current")
    return prepared, baseline


def check(values: Mapping[str, Any]) -> None:
    """Run the first task's checks on a run's parameter values before submitting.

    ``values`` holds every pipeline parameter, defaults included, with project
    and location already resolved.
    """
    run_check(check_tuning, values, template=NAME, kind=KIND, tuner=TUNER)


def pipeline(image: str) -> GraphComponent:
    """The cloud pipeline, its components on the runtime ``image``."""

    @dsl.pipeline(name=PIPELINE_NAME, description=__doc__.splitlines()[0])
    def supervised_tuning(
        use_case: str,
        dataset: str,
        base_model: str = "gemini-2.5-flash",
        current_model: str = "gemini-2.5-flash",
        tuned_model_display_name: str = "llmops-supervised-tuned",
        template_name: str = "",
        template_version: int = 0,
        eval_fraction: float = DEFAULT_EVAL_FRACTION,
        split_salt: str = DEFAULT_SALT,
        min_accepted_score: float = DEFAULT_MIN_ACCEPTED_SCORE,
        min_new_examples: int = 100,
        epochs: int = 3,
        embedding_backend: str = "vertex",
        embedding_model: str = "text-embedding-005",
        bigquery_endpoint: str = "",
        labels: dict = {},  # noqa: B006 - a pipeline default, never mutated
        project: str = PROJECT_PLACEHOLDER,
        location: str = LOCATION_PLACEHOLDER,
    ) -> None:
        """Tune Gemini on the use case's corrected and accepted answers.

        Steps, as the DAG runs them:

        1. validate-tuning: check every parameter.
        2. count-new-feedback: count labelled feedback since the last run; the
           rest runs only when there are at least ``min_new_examples``.
        3. prepare-data: export corrections and accepted answers as Gemini
           SFT JSONL, validate it, hold out ``eval_fraction`` of the prompts
           by hash, write the data card.
        4. evaluate-current: score the current model's logged answers on the
           held-out prompts (the baseline).
        5. tune-gemini: Gemini supervised tuning; Vertex AI registers the
           tuned model and serves it on an endpoint.
        6. evaluate-tuned: score the tuned model on the same prompts against
           the baseline; write both runs to the evaluations table.
        7. write-model-card.
        """
        validated = validate_tuning.component(image)(
            template=NAME,
            project=project,
            location=location,
            dataset=dataset,
            use_case=use_case,
            kind=KIND,
            tuner=TUNER,
            base_model=base_model,
            tuned_model_display_name=tuned_model_display_name,
            eval_fraction=eval_fraction,
            min_new_examples=min_new_examples,
            epochs=epochs,
            labels=labels,
            template_version=template_version,
            embedding_backend=embedding_backend,
            min_accepted_score=min_accepted_score,
        ).set_display_name("validate-tuning")
        gate = count_new_feedback.component(image)(
            project=project,
            dataset=dataset,
            bigquery_endpoint=bigquery_endpoint,
            use_case=use_case,
            pipeline=NAME,
            min_new_examples=min_new_examples,
        ).set_display_name("count-new-feedback")
        gate.after(validated)

        with dsl.If(gate.outputs["ready"] == True):  # a DSL condition, not a test
            prepared, baseline = _prepare_and_baseline(
                image,
                project=project,
                location=location,
                dataset=dataset,
                bigquery_endpoint=bigquery_endpoint,
                use_case=use_case,
                template_name=template_name,
                template_version=template_version,
                current_model=current_model,
                eval_fraction=eval_fraction,
                split_salt=split_salt,
                min_accepted_score=min_accepted_score,
                embedding_backend=embedding_backend,
                embedding_model=embedding_model,
            )
            tuned = tune_gemini.component(image)(
                project=project,
                location=location,
                method="SUPERVISED_FINE_TUNING",
                base_model=base_model,
                train_uri=prepared.outputs["train_uri"],
                eval_uri=prepared.outputs["eval_uri"],
                tuned_model_display_name=tuned_model_display_name,
                epochs=epochs,
                labels=labels,
            ).set_display_name("tune-gemini")
            tuned_eval = evaluate_model.component(image)(
                project=project,
                location=location,
                dataset=dataset,
                bigquery_endpoint=bigquery_endpoint,
                pipeline=NAME,
                evaluation_id=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
                run_suffix="tuned",
                use_case=use_case,
                model_name=tuned.outputs["endpoint"],
                template_name=template_name,
                template_version=template_version,
                prediction_source="generate",
                tuner_format=prepared.outputs["tuner_format"],
                held_out=prepared.outputs["evaluation"],
                eval_dataset_uri="",
                embedding_backend=embedding_backend,
                embedding_model=embedding_model,
                baseline_id=baseline.outputs["evaluation_id"],
            ).set_display_name("evaluate-tuned")
            write_model_card.component(image)(
                pipeline=NAME,
                use_case=use_case,
                base_model=base_model,
                tuner="gemini-supervised-tuning",
                tuned_model=tuned.outputs["model"],
                endpoint=tuned.outputs["endpoint"],
                train_rows=prepared.outputs["train_rows"],
                eval_rows=prepared.outputs["eval_rows"],
                labels=labels,
                data_card=prepared.outputs["data_card"],
                report=tuned_eval.outputs["report"],
            ).set_display_name("write-model-card")

    return supervised_tuning


def local_pipeline(image: str) -> GraphComponent:
    """The steps that run without Vertex AI: validation, preparation, baseline."""

    @dsl.pipeline(name=LOCAL_PIPELINE_NAME, description=__doc__.splitlines()[0])
    def supervised_tuning_local(
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
        min_accepted_score: float = DEFAULT_MIN_ACCEPTED_SCORE,
        embedding_backend: str = "local",
        embedding_model: str = "all-MiniLM-L6-v2",
    ) -> LocalOutputs:
        """The supervised pipeline's preparation and evaluation, for a local run.

        Steps, as the DAG runs them: validate-tuning, prepare-data,
        evaluate-current. Tuning and the tuned model's evaluation need Vertex
        AI and are not part of it.
        """
        validated = validate_tuning.component(image)(
            template=NAME,
            project=project,
            location=location,
            dataset=dataset,
            use_case=use_case,
            kind=KIND,
            tuner=TUNER,
            base_model=current_model,
            tuned_model_display_name="local-run",
            eval_fraction=eval_fraction,
            min_new_examples=0,
            epochs=1,
            labels={},
            template_version=template_version,
            embedding_backend=embedding_backend,
            min_accepted_score=min_accepted_score,
        )
        prepared, baseline = _prepare_and_baseline(
            image,
            project=project,
            location=location,
            dataset=dataset,
            bigquery_endpoint=bigquery_endpoint,
            use_case=use_case,
            template_name=template_name,
            template_version=template_version,
            current_model=current_model,
            eval_fraction=eval_fraction,
            split_salt=split_salt,
            min_accepted_score=min_accepted_score,
            embedding_backend=embedding_backend,
            embedding_model=embedding_model,
        )
        prepared.after(validated)
        return LocalOutputs(
            train=prepared.outputs["train"],
            evaluation=prepared.outputs["evaluation"],
            data_card=prepared.outputs["data_card"],
            report=baseline.outputs["report"],
        )

    return supervised_tuning_local
