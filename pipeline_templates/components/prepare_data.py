"""Export, validate and split the feedback into a tuner's JSONL, with a data card."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

from pipeline_templates.components import lightweight


def prepare_data(
    project: str,
    dataset: str,
    bigquery_endpoint: str,
    pipeline: str,
    kind: str,
    tuner: str,
    use_case: str,
    template_name: str,
    eval_fraction: float,
    split_salt: str,
    min_score_gap: float,
    min_accepted_score: float,
    train: dsl.Output[dsl.Dataset],
    evaluation: dsl.Output[dsl.Dataset],
    prompts: dsl.Output[dsl.Dataset],
    data_card: dsl.Output[dsl.Markdown],
) -> NamedTuple(
    "Prepared",
    [
        ("train_rows", int),
        ("eval_rows", int),
        ("train_uri", str),
        ("eval_uri", str),
        ("prompts_uri", str),
        ("tuner_format", str),
    ],
):
    """Write training, evaluation and (RLHF) prompt JSONL and the data card."""
    import collections

    from llmops.pipelines.parameters import tuner_format as format_for
    from llmops.pipelines.prepare import prepare
    from llmops.pipelines.stores import open_table_store

    tuner_format = format_for(kind, tuner)
    store = open_table_store(project, dataset, bigquery_endpoint)
    prepared = prepare(
        store,
        pipeline=pipeline,
        kind=kind,
        tuner_format=tuner_format,
        use_case=use_case,
        template_name=template_name,
        eval_fraction=eval_fraction,
        split_salt=split_salt,
        min_score_gap=min_score_gap,
        min_accepted_score=min_accepted_score,
    )
    for artifact, text, rows in (
        (train, prepared.train_jsonl, prepared.train_rows),
        (evaluation, prepared.eval_jsonl, prepared.eval_rows),
        (prompts, prepared.prompts_jsonl, prepared.prompts_jsonl.count("\n")),
    ):
        with open(artifact.path, "w", encoding="utf-8") as out:
            out.write(text)
        artifact.metadata["rows"] = rows
        artifact.metadata["format"] = tuner_format
    with open(data_card.path, "w", encoding="utf-8") as out:
        out.write(prepared.data_card)
    data_card.metadata["dropped"] = sum(prepared.dropped.values())

    result = collections.namedtuple(
        "Prepared",
        [
            "train_rows",
            "eval_rows",
            "train_uri",
            "eval_uri",
            "prompts_uri",
            "tuner_format",
        ],
    )
    return result(
        prepared.train_rows,
        prepared.eval_rows,
        train.uri,
        evaluation.uri,
        prompts.uri,
        tuner_format,
    )


def component(image: str) -> PythonComponent:
    """The component on ``image``."""
    return lightweight(prepare_data, image)
