"""The SDK side of the registry: ``get(name, label="prod")`` in a use case's app.

A fetched version is cached for ``ttl_seconds``. Past that, the cached copy is
still served at once while one background fetch refreshes it, so a slow or
unreachable registry never stalls a request that has been served before. A
template never fetched is read from the registry; if the registry cannot be
reached, a bundled copy (a folder of template files shipped with the app) is
served instead, and the fallback is logged and marked on the result.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llmops import contract as c
from llmops.errors import ConfigError, NotFoundError, TransientError
from llmops.prompts.registry import PromptRegistry, Reference
from llmops.prompts.template import PromptTemplate, RenderedPrompt, scan_folder

logger = logging.getLogger(__name__)

# Names the SDK reads when it builds its own client (see ``PromptClient.from_env``).
ENV_PROMPTS_BUCKET = c.ENV_PROMPTS_BUCKET
ENV_PROMPTS_TTL_SECONDS = "LLMOPS_PROMPTS_TTL_SECONDS"
ENV_PROMPTS_BUNDLED_DIR = "LLMOPS_PROMPTS_BUNDLED_DIR"
DEFAULT_TTL_SECONDS = 60.0

# Where a served prompt came from.
SOURCE_REGISTRY = "registry"
SOURCE_CACHE = "cache"
SOURCE_STALE = "stale"
SOURCE_BUNDLED = "bundled"

# What "the registry is unreachable" looks like from the client's side.
_UNREACHABLE = (TransientError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Prompt:
    """A template version as served, and where it came from."""

    template: PromptTemplate
    name: str
    label: str | None
    version: int | None
    content_hash: str
    source: str

    @property
    def model(self) -> str:
        return self.template.model

    def render(
        self, variables: Mapping[str, Any] | None = None, /, **named: Any
    ) -> RenderedPrompt:
        """Render with variable checking: a missing or unexpected one is an error."""
        values = {**(variables or {}), **named}
        return self.template.render(values, version=self.version, label=self.label)


@dataclass
class _Entry:
    prompt: Prompt
    fetched_at: float


class PromptClient:
    """Serves template versions by label, with a TTL cache and a bundled fallback."""

    def __init__(
        self,
        registry: PromptRegistry,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        bundled_dir: Path | str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0:
            raise ConfigError(f"ttl_seconds must be 0 or more, got {ttl_seconds}")
        self._registry = registry
        self._ttl = ttl_seconds
        self._bundled_dir = Path(bundled_dir) if bundled_dir else None
        self._bundled: dict[str, PromptTemplate] | None = None
        self._bundled_errors: list[str] = []
        self._clock = clock
        self._cache: dict[tuple[str, str], _Entry] = {}
        self._refreshing: dict[tuple[str, str], threading.Thread] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PromptClient:
        """A client on the bucket named by LLMOPS_PROMPTS_BUCKET."""
        from llmops.backends.gcs import GcsObjectStore

        env = os.environ if env is None else env
        bucket = env.get(ENV_PROMPTS_BUCKET, "").strip()
        if not bucket:
            raise ConfigError(
                f"{ENV_PROMPTS_BUCKET} is not set; name the prompt registry bucket "
                "(the stack output promptsBucket), or on the local platform set "
                "the environment `llmops local up` prints (it also points "
                f"{c.ENV_STORAGE_EMULATOR_HOST} at the emulator)"
            )
        emulator = env.get(c.ENV_STORAGE_EMULATOR_HOST)
        if emulator:
            objects = GcsObjectStore.for_emulator(emulator)
        else:
            from google.cloud import storage

            objects = GcsObjectStore(storage.Client(project=env.get(c.ENV_PROJECT)))
        try:
            ttl = float(env.get(ENV_PROMPTS_TTL_SECONDS) or DEFAULT_TTL_SECONDS)
        except ValueError:
            raise ConfigError(
                f"{ENV_PROMPTS_TTL_SECONDS} must be a number of seconds, got "
                f"{env.get(ENV_PROMPTS_TTL_SECONDS)!r}"
            ) from None
        return cls(
            PromptRegistry(objects, bucket),
            ttl_seconds=ttl,
            bundled_dir=env.get(ENV_PROMPTS_BUNDLED_DIR) or None,
        )

    def get(self, name: str, label: str = "prod") -> Prompt:
        """The version ``label`` points at, fresh, cached, stale or bundled."""
        key = (name, label)
        now = self._clock()
        with self._lock:
            entry = self._cache.get(key)
        if entry is not None:
            if now - entry.fetched_at < self._ttl:
                return replace(entry.prompt, source=SOURCE_CACHE)
            self._refresh_in_background(key)
            return replace(entry.prompt, source=SOURCE_STALE)

        try:
            return self._fetch(key)
        except _UNREACHABLE as error:
            return self._fallback(name, label, error)

    def _fetch(self, key: tuple[str, str]) -> Prompt:
        name, label = key
        version = self._registry.resolve(Reference(name=name, label=label))
        prompt = Prompt(
            template=version.template,
            name=name,
            label=label,
            version=version.version,
            content_hash=version.content_hash,
            source=SOURCE_REGISTRY,
        )
        with self._lock:
            self._cache[key] = _Entry(prompt, self._clock())
        logger.debug(
            "prompts.fetched name=%s label=%s version=%d", name, label, version.version
        )
        return prompt

    def _refresh_in_background(self, key: tuple[str, str]) -> None:
        with self._lock:
            running = self._refreshing.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self._refresh,
                args=(key,),
                name=f"prompt-refresh-{key[0]}",
                daemon=True,
            )
            self._refreshing[key] = thread
        thread.start()

    def _refresh(self, key: tuple[str, str]) -> None:
        try:
            self._fetch(key)
        except (*_UNREACHABLE, NotFoundError) as error:
            # The stale copy stays in service; the next get tries again.
            logger.warning(
                "prompts.refresh_failed name=%s label=%s error=%s",
                key[0],
                key[1],
                type(error).__name__,
            )
        except Exception:
            logger.exception("prompts.refresh_failed name=%s label=%s", key[0], key[1])

    def wait_for_refresh(self, timeout: float = 30.0) -> None:
        """Wait until background refreshes started so far have finished."""
        with self._lock:
            threads = list(self._refreshing.values())
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _fallback(self, name: str, label: str, error: Exception) -> Prompt:
        template = self._bundled_templates().get(name)
        if template is None:
            if not self._bundled_dir:
                where = "no bundled copies were configured (bundled_dir)"
            elif self._bundled_errors:
                where = (
                    f"no valid bundled copy of {name!r} in {self._bundled_dir}, "
                    f"where {len(self._bundled_errors)} file(s) are invalid:\n  "
                    + "\n  ".join(self._bundled_errors)
                )
            else:
                where = f"no bundled copy of {name!r} in {self._bundled_dir}"
            raise TransientError(
                f"prompt {name}@{label}: the registry is unreachable ({error}) and "
                f"{where}; retry later or ship the template with the app"
            ) from error
        logger.warning(
            "prompts.bundled_fallback name=%s label=%s reason=%s",
            name,
            label,
            type(error).__name__,
        )
        return Prompt(
            template=template,
            name=name,
            label=label,
            version=None,
            content_hash=template.content_hash(),
            source=SOURCE_BUNDLED,
        )

    def _bundled_templates(self) -> dict[str, PromptTemplate]:
        if self._bundled is None:
            if self._bundled_dir is None:
                self._bundled = {}
            else:
                # One broken file must not take every other copy down with it.
                templates, self._bundled_errors = scan_folder(self._bundled_dir)
                for problem in self._bundled_errors:
                    logger.warning(
                        "prompts.bundled_invalid folder=%s problem=%s",
                        self._bundled_dir,
                        problem.splitlines()[0],
                    )
                self._bundled = {t.name: t for t in templates}
        return self._bundled


_default: PromptClient | None = None
_default_lock = threading.Lock()


def configure(client: PromptClient | None) -> None:
    """Set (or with None, forget) the client that module-level ``get`` uses."""
    global _default
    with _default_lock:
        _default = client


def get(name: str, label: str = "prod") -> Prompt:
    """The template version ``label`` points at, from the default client.

    The default client is built from the environment on first use
    (LLMOPS_PROMPTS_BUCKET, and STORAGE_EMULATOR_HOST on the local platform),
    unless ``configure`` set one.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = PromptClient.from_env()
        client = _default
    return client.get(name, label)
