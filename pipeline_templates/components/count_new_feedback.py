"""The continuous-feedback gate: is there enough new labelled feedback to tune?"""

from typing import NamedTuple

from kfp.dsl.python_component import PythonComponent

from pipeline_templates.components import lightweight


def count_new_feedback(
    project: str,
    dataset: str,
    bigquery_endpoint: str,
    use_case: str,
    pipeline: str,
    min_new_examples: int,
) -> NamedTuple("Gate", [("new_examples", int), ("ready", bool)]):
    """Count labelled feedback since the pipeline's last run; ready at the minimum."""
    import collections

    from llmops.pipelines.feedback import count_new_labelled
    from llmops.pipelines.stores import open_table_store

    store = open_table_store(project, dataset, bigquery_endpoint)
    new = count_new_labelled(store, use_case=use_case, pipeline=pipeline)
    gate = collections.namedtuple("Gate", ["new_examples", "ready"])
    return gate(new, new >= min_new_examples)


def component(image: str) -> PythonComponent:
    """The component on ``image``."""
    return lightweight(count_new_feedback, image)
