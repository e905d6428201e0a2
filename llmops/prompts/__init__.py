"""The prompt registry: template files, versions and labels, and the SDK's ``get``.

A use case writes its templates as YAML files (see ``llmops.prompts.template``),
pushes them to the registry bucket with ``llmops prompts push``, moves labels
such as ``prod`` between versions, and in its app calls::

    from llmops import prompts

    prompt = prompts.get("support-answer", label="prod")
    rendered = prompt.render(question=question, passages=passages)
"""

from llmops.prompts.client import Prompt, PromptClient, configure, get
from llmops.prompts.registry import (
    LabelMove,
    PromptRegistry,
    PushResult,
    Reference,
    TemplateVersion,
)
from llmops.prompts.template import (
    PromptTemplate,
    RenderedPrompt,
    load_folder,
    load_template,
    parse_template,
)

__all__ = [
    "LabelMove",
    "Prompt",
    "PromptClient",
    "PromptRegistry",
    "PromptTemplate",
    "PushResult",
    "Reference",
    "RenderedPrompt",
    "TemplateVersion",
    "configure",
    "get",
    "load_folder",
    "load_template",
    "parse_template",
]
