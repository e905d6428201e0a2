"""Write the model card of a tuning run from its data card and evaluation."""

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

from pipeline_templates.components import lightweight


def write_model_card(
    pipeline: str,
    use_case: str,
    base_model: str,
    tuner: str,
    tuned_model: str,
    endpoint: str,
    train_rows: int,
    eval_rows: int,
    labels: dict,
    data_card: dsl.Input[dsl.Markdown],
    report: dsl.Input[dsl.Artifact],
    model_card: dsl.Output[dsl.Markdown],
) -> None:
    """Render the model card as Markdown beside the run's other artifacts."""
    import json

    from llmops.pipelines import cards
    from llmops.pipelines.metrics import Comparison

    with open(data_card.path, encoding="utf-8") as source:
        data_card_sha = cards.sha256_of(source.read())
    with open(report.path, encoding="utf-8") as source:
        scored = json.load(source)
    card = cards.ModelCard(
        pipeline=pipeline,
        use_case=use_case,
        base_model=base_model,
        tuner=tuner,
        tuned_model=tuned_model,
        endpoint=endpoint,
        train_rows=train_rows,
        eval_rows=eval_rows,
        data_card_sha256=data_card_sha,
        comparisons=[
            Comparison(item["metric"], item["value"], item["baseline"])
            for item in scored["comparisons"]
        ],
        baseline_model="the current model",
        labels=labels,
    )
    with open(model_card.path, "w", encoding="utf-8") as out:
        out.write(cards.render_model_card(card))


def component(image: str) -> PythonComponent:
    """The component on ``image``."""
    return lightweight(write_model_card, image)
