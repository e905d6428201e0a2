"""Models that ``llmops prompts test`` can ask: Gemini on Vertex AI.

The local platform has no generation model, so locally the test cases run
render-only (or against recorded outputs) unless a model is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from llmops.errors import ConfigError, InputError, TransientError
from llmops.prompts.template import RenderedPrompt

logger = logging.getLogger(__name__)

# Template parameter names -> Vertex AI GenerationConfig keywords.
_VERTEX_PARAMETERS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_output_tokens": "max_output_tokens",
    "candidate_count": "candidate_count",
    "seed": "seed",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "stop_sequences": "stop_sequences",
}


def vertex_generation_config(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A template's generation parameters as Vertex AI keywords."""
    return {
        _VERTEX_PARAMETERS[k]: v
        for k, v in parameters.items()
        if k in _VERTEX_PARAMETERS
    }


class VertexTextModel:
    """Gemini through the Vertex AI SDK; the template's model unless one is forced."""

    # Limitation: not exercised by the test suite, which has no Vertex AI
    # endpoint to call; it runs only against a cloud project until an
    # emulator for generation exists.
    def __init__(self, project: str, location: str, model: str | None = None) -> None:
        if not project or not location:
            raise ConfigError(
                "a Vertex AI model needs a project and a location; pass "
                "--stack-outputs FILE for a cloud stack"
            )
        self._project = project
        self._location = location
        self._forced = model
        self.name = model or "template-model"

    def generate(self, prompt: RenderedPrompt) -> str:
        import vertexai
        from google.api_core import exceptions as api_exceptions
        from vertexai.generative_models import Content, GenerativeModel, Part

        vertexai.init(project=self._project, location=self._location)
        model_name = self._forced or prompt.model
        self.name = model_name
        model = GenerativeModel(model_name, system_instruction=prompt.system)
        contents = [
            Content(role=turn["role"], parts=[Part.from_text(turn["content"])])
            for turn in prompt.messages()
        ]
        try:
            response = model.generate_content(
                contents, generation_config=vertex_generation_config(prompt.parameters)
            )
        except (
            api_exceptions.TooManyRequests,
            api_exceptions.ServiceUnavailable,
        ) as error:
            raise TransientError(f"model {model_name}: {error}; retry later") from error
        except api_exceptions.InvalidArgument as error:
            raise InputError(
                f"model {model_name} rejected the prompt: {error}"
            ) from error
        return str(response.text)
