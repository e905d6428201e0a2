"""Score a model's answers to the held-out prompts and record the run."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

from pipeline_templates.components import lightweight


def evaluate_model(
    project: str,
    location: str,
    dataset: str,
    bigquery_endpoint: str,
    pipeline: str,
    evaluation_id: str,
    run_suffix: str,
    use_case: str,
    model_name: str,
    template_name: str,
    template_version: int,
    prediction_source: str,
    tuner_format: str,
    held_out: dsl.Input[dsl.Dataset],
    eval_dataset_uri: str,
    embedding_backend: str,
    embedding_model: str,
    baseline_id: str,
    metrics: dsl.Output[dsl.Metrics],
    report: dsl.Output[dsl.Artifact],
) -> NamedTuple("Evaluated", [("evaluation_id", str), ("examples", int)]):
    """Answer, score, compare with the baseline, write evaluations rows."""
    import collections
    import json

    from llmops.pipelines import evaluation, formats, tuning
    from llmops.pipelines import metrics as scoring
    from llmops.pipelines.stores import open_embedder, open_table_store

    # The held-out examples: the given JSONL (gs:// read through /gcs) or the split.
    path = held_out.path
    if eval_dataset_uri:
        path = eval_dataset_uri.replace("gs://", "/gcs/", 1)
    with open(path, encoding="utf-8") as source:
        validated = formats.validate_lines(source, tuner_format)
    pairs = evaluation.held_out(validated.records, tuner_format)

    store = open_table_store(project, dataset, bigquery_endpoint)
    if prediction_source == "replay":
        answers = evaluation.replayed_answers(
            store,
            use_case=use_case,
            model_name=model_name,
            template_name=template_name,
            template_version=template_version,
        )
        answer = evaluation.replay(answers)
    else:
        generated = tuning.generated_answers(
            tuning.vertex_client(project, location),
            model_name,
            [prompt for prompt, _ in pairs],
        )
        answer = generated.get
    embedder = open_embedder(embedding_backend, embedding_model, project, location)
    result, missing = evaluation.run(pairs, answer, embedder)

    baseline = evaluation.baseline_metrics(store, baseline_id) if baseline_id else {}
    comparisons = scoring.compare(result.metrics, baseline or None)
    run_id = f"{evaluation_id}-{run_suffix}" if run_suffix else evaluation_id
    info = evaluation.RunInfo(
        evaluation_id=run_id,
        pipeline=pipeline,
        use_case=use_case,
        model_name=model_name,
        template_name=template_name or None,
        template_version=template_version or None,
        dataset=eval_dataset_uri or held_out.uri,
    )
    evaluation.record(
        store,
        evaluation.evaluation_rows(
            info, result, comparisons, baseline_id=baseline_id or None
        ),
    )

    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
    metrics.log_metric("examples", result.examples)
    metrics.log_metric("missing_answers", missing)
    with open(report.path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "evaluation_id": run_id,
                "model_name": model_name,
                "examples": result.examples,
                "missing_answers": missing,
                "dropped": dict(validated.dropped),
                "comparisons": [
                    {"metric": c.metric, "value": c.value, "baseline": c.baseline}
                    for c in comparisons
                ],
            },
            out,
            indent=2,
        )
    evaluated = collections.namedtuple("Evaluated", ["evaluation_id", "examples"])
    return evaluated(run_id, result.examples)


def component(image: str) -> PythonComponent:
    """The component on ``image``."""
    return lightweight(evaluate_model, image)
