"""The prompt registry: immutable template versions and movable labels in a bucket.

There is no server. Each version is one object written only if absent
(``if_generation_match=0``), so two pushes racing for the same version number
cannot both win: the loser reads again and takes the next number, and no
version is lost. Each label is one object rewritten only at the generation it
was read at, so a label moves atomically from one version to another. Every
push, promotion and rollback is also recorded in the
``prompt_registry_events`` table.

Layout in the registry bucket::

    templates/<name>/versions/<00000001>.json   one immutable version
    templates/<name>/labels/<label>.json        where a label points, and its past
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmops import contract as c
from llmops.backends.base import ObjectStore, TableStore
from llmops.errors import (
    ConfigError,
    ConflictError,
    CorruptObjectError,
    InputError,
    NotFoundError,
)
from llmops.prompts.template import NAME, PromptTemplate, parse_template

logger = logging.getLogger(__name__)

LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VERSION_FILE = re.compile(r"/versions/(\d{8})\.json$")
# Races are short: a writer that loses this many times in a row is told so.
MAX_ATTEMPTS = 50
JSON = "application/json"


@dataclass(frozen=True)
class TemplateVersion:
    """One immutable version of a template, as stored."""

    name: str
    version: int
    content_hash: str
    author: str
    message: str
    created: str
    template: PromptTemplate

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "content_hash": self.content_hash,
            "author": self.author,
            "message": self.message,
            "created": self.created,
            "template": self.template.to_dict(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], *, source: str) -> TemplateVersion:
        """Read a stored version; ValueError if its content is not what it says."""
        found = cls(
            name=str(doc["name"]),
            version=_whole(doc["version"], "version"),
            content_hash=str(doc["content_hash"]),
            author=str(doc.get("author", "")),
            message=str(doc.get("message", "")),
            created=str(doc.get("created", "")),
            template=parse_template(doc["template"], source=source),
        )
        if found.template.name != found.name:
            raise ValueError(
                f"it holds template {found.template.name!r} under the name "
                f"{found.name!r}"
            )
        # A version is immutable: content that no longer hashes to what was
        # recorded at push was changed by hand, and is not served.
        if found.template.content_hash() != found.content_hash:
            raise ValueError(
                "its template does not match the content hash recorded at push "
                f"({found.content_hash[:12]}...); it was changed after it was "
                "stored"
            )
        return found


@dataclass(frozen=True)
class LabelState:
    """Where a label points, the versions it pointed at before, and its moves."""

    label: str
    version: int
    # Versions the label was promoted to, oldest first; the last is current.
    stack: tuple[int, ...]
    history: tuple[Mapping[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "version": self.version,
            "stack": list(self.stack),
            "history": [dict(entry) for entry in self.history],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LabelState:
        """Read a stored label; ValueError or TypeError if it is not one."""
        version = _whole(doc["version"], "version")
        stack = doc.get("stack", [version])
        history = doc.get("history", [])
        if not isinstance(stack, list) or not stack:
            raise TypeError(f"its stack is {stack!r}, not a list of versions")
        if not isinstance(history, list) or not all(
            isinstance(entry, Mapping) for entry in history
        ):
            raise TypeError("its history is not a list of moves")
        versions = tuple(_whole(v, "stack entry") for v in stack)
        if versions[-1] != version:
            raise ValueError(
                f"it points at version {version} but its stack ends at {versions[-1]}"
            )
        return cls(
            label=str(doc["label"]),
            version=version,
            stack=versions,
            history=tuple(dict(entry) for entry in history),
        )


def _whole(value: Any, what: str) -> int:
    """A stored version number, refusing text, floats and booleans."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"its {what} {value!r} is not a version number")
    return value


@dataclass(frozen=True)
class PushResult:
    """What a push did: a new version, or nothing because nothing changed."""

    name: str
    version: int
    created: bool
    content_hash: str


@dataclass(frozen=True)
class LabelMove:
    """A label's move from one version to another."""

    name: str
    label: str
    version: int
    previous_version: int | None


@dataclass(frozen=True)
class Reference:
    """``name``, ``name@label`` or ``name:version``."""

    name: str
    label: str | None = None
    version: int | None = None

    def __post_init__(self) -> None:
        # The SDK builds references from its arguments: check them as parsing
        # would, so that a bad name is an error here, not a bucket path.
        if not isinstance(self.name, str) or not NAME.match(self.name):
            raise InputError(
                f"template name {self.name!r} must be 1 to 63 lowercase letters, "
                "digits, '-' or '_', starting with a letter"
            )
        if self.label is not None:
            _check_label(self.label)

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Read a reference; raise InputError saying the accepted forms."""
        name, label, version = text, None, None
        if "@" in text:
            name, label = text.split("@", 1)
        elif ":" in text:
            name, raw = text.split(":", 1)
            if not raw.isdigit() or int(raw) < 1:
                raise InputError(
                    f"template reference {text!r}: version must be a whole number "
                    "from 1, as in name:3"
                )
            version = int(raw)
        if not NAME.match(name) or (label is not None and not LABEL.match(label)):
            raise InputError(
                f"template reference {text!r} must be name, name@label or "
                "name:version (lowercase letters, digits, '-' and '_')"
            )
        return cls(name=name, label=label, version=version)

    def __str__(self) -> str:
        if self.label:
            return f"{self.name}@{self.label}"
        if self.version:
            return f"{self.name}:{self.version}"
        return self.name


def _decode(
    bucket: str,
    path: str,
    stored: Any,
    build: Callable[[Mapping[str, Any], str], Any],
    remedy: str,
    *,
    cloud: bool = True,
) -> Any:
    """Build a registry record from a stored object, or say which object is bad.

    The registry bucket is versioned, so the message says how to bring the
    last good generation back instead of leaving a traceback.
    """
    source = f"gs://{bucket}/{path}"
    try:
        doc = json.loads(stored.data)
        if not isinstance(doc, Mapping):
            raise TypeError(f"it holds a JSON {type(doc).__name__}, not an object")
        return build(doc, source)
    except (ValueError, TypeError, KeyError, InputError) as error:
        what = f"missing field {error}" if isinstance(error, KeyError) else error
        restore = (
            "; or, as the bucket keeps earlier generations, list them with "
            f"`gcloud storage ls -a {source}` and restore the last good one with "
            f"`gcloud storage cp '{source}#GENERATION' {source}`"
            if cloud
            else ""
        )
        raise CorruptObjectError(
            f"{source} (generation {stored.generation}) is not a registry record "
            f"the platform wrote: {what}. Nothing was changed. {remedy}{restore}"
        ) from None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _version_object(name: str, version: int) -> str:
    return f"templates/{name}/versions/{version:08d}.json"


def _label_object(name: str, label: str) -> str:
    return f"templates/{name}/labels/{label}.json"


def _check_label(label: str) -> None:
    if not isinstance(label, str) or not LABEL.match(label):
        raise InputError(
            f"label {label!r} must be 1 to 63 lowercase letters, digits, '-' or '_', "
            "starting with a letter (prod, staging, canary-eu)"
        )


class PromptRegistry:
    """Versions and labels of prompt templates in one bucket.

    ``events`` receives a ``prompt_registry_events`` row for every push,
    promotion and rollback; a registry opened without it can only read.
    """

    def __init__(
        self,
        objects: ObjectStore,
        bucket: str,
        *,
        events: TableStore | None = None,
        cloud: bool = True,
    ) -> None:
        if not bucket:
            raise ConfigError("the prompt registry needs its bucket name")
        self._objects = objects
        self.bucket = bucket
        self._events = events
        # On an emulator the gcloud commands for old generations do not apply.
        self._cloud = cloud

    # -- Reading ---------------------------------------------------------------

    def names(self) -> list[str]:
        """Every template that has at least one version."""
        found = {
            name.split("/")[1]
            for name in self._objects.list(self.bucket, "templates/")
            if _VERSION_FILE.search(name)
        }
        return sorted(found)

    def version_numbers(self, name: str) -> list[int]:
        """The versions of ``name``, oldest first."""
        numbers = []
        for obj in self._objects.list(self.bucket, f"templates/{name}/versions/"):
            match = _VERSION_FILE.search(obj)
            if match:
                numbers.append(int(match.group(1)))
        return sorted(numbers)

    def version(self, name: str, version: int) -> TemplateVersion:
        """One version, or NotFoundError naming what exists."""
        path = _version_object(name, version)
        try:
            stored = self._objects.read(self.bucket, path)
        except NotFoundError:
            raise NotFoundError(
                f"template {name!r} has no version {version}; "
                f"`llmops prompts list {name}` shows its versions"
            ) from None

        def build(doc: Mapping[str, Any], source: str) -> TemplateVersion:
            found = TemplateVersion.from_json(doc, source=source)
            if (found.name, found.version) != (name, version):
                raise ValueError(
                    f"it says it is {found.name!r} version {found.version}, "
                    f"not {name!r} version {version}"
                )
            return found

        return _decode(
            self.bucket,
            path,
            stored,
            build,
            "It is never served; push the template again to store its content "
            "as a new version",
            cloud=self._cloud,
        )

    def latest(self, name: str) -> TemplateVersion | None:
        """The newest version of ``name``, or None if it has none."""
        numbers = self.version_numbers(name)
        return self.version(name, numbers[-1]) if numbers else None

    def label_state(self, name: str, label: str) -> LabelState | None:
        """Where ``label`` points for ``name``, or None if it is not set."""
        state, _ = self._read_label(name, label)
        return state

    def labels(self, name: str, damaged: list[str] | None = None) -> dict[str, int]:
        """Every label of ``name`` and the version it points at.

        A label whose object is damaged raises CorruptObjectError, unless a
        ``damaged`` list is given: its name is then appended there instead.
        """
        found: dict[str, int] = {}
        prefix = f"templates/{name}/labels/"
        for obj in self._objects.list(self.bucket, prefix):
            rest = obj[len(prefix) :]
            if "/" in rest or not rest.endswith(".json"):
                continue
            label = rest.removesuffix(".json")
            try:
                state = self.label_state(name, label)
            except CorruptObjectError:
                if damaged is None:
                    raise
                damaged.append(label)
                continue
            if state is not None:
                found[label] = state.version
        return found

    def resolve(self, reference: Reference | str) -> TemplateVersion:
        """The version a reference means; a bare name means the newest."""
        ref = Reference.parse(reference) if isinstance(reference, str) else reference
        if ref.version is not None:
            return self.version(ref.name, ref.version)
        if ref.label is not None:
            state = self.label_state(ref.name, ref.label)
            if state is None:
                raise NotFoundError(
                    f"template {ref.name!r} has no label {ref.label!r}; set it with "
                    f"`llmops prompts promote {ref.name}:VERSION {ref.label}`"
                )
            try:
                return self.version(ref.name, state.version)
            except NotFoundError:
                raise NotFoundError(
                    f"label {ref.label!r} of {ref.name!r} points at version "
                    f"{state.version}, which does not exist (its label object was "
                    f"changed by hand?); `llmops prompts promote {ref.name}:VERSION "
                    f"{ref.label}` points it at a version that does"
                ) from None
        latest = self.latest(ref.name)
        if latest is None:
            raise NotFoundError(
                f"template {ref.name!r} is not in the registry gs://{self.bucket}; "
                "push it with `llmops prompts push FILE`"
            )
        return latest

    def diff(self, a: Reference | str, b: Reference | str) -> str:
        """A unified diff of two versions' canonical YAML ('' when equal)."""
        left, right = self.resolve(a), self.resolve(b)
        return "".join(
            difflib.unified_diff(
                left.template.to_yaml().splitlines(keepends=True),
                right.template.to_yaml().splitlines(keepends=True),
                fromfile=f"{left.name}:{left.version}",
                tofile=f"{right.name}:{right.version}",
            )
        )

    # -- Writing ---------------------------------------------------------------

    def push(
        self, template: PromptTemplate, *, author: str, message: str = ""
    ) -> PushResult:
        """Store a new version unless the newest one has the same content."""
        self._require_events()
        digest = template.content_hash()
        for _ in range(MAX_ATTEMPTS):
            try:
                latest = self.latest(template.name)
            except CorruptObjectError:
                # Versions are immutable: a damaged newest one stays as it is
                # (and is never served); the push takes the number after it.
                latest = None
            numbers = self.version_numbers(template.name)
            if latest is not None and latest.content_hash == digest:
                logger.info(
                    "prompts.push_unchanged name=%s version=%d",
                    template.name,
                    latest.version,
                )
                return PushResult(template.name, latest.version, False, digest)
            number = (numbers[-1] if numbers else 0) + 1
            version = TemplateVersion(
                name=template.name,
                version=number,
                content_hash=digest,
                author=author,
                message=message,
                created=_now(),
                template=template,
            )
            try:
                self._objects.write(
                    self.bucket,
                    _version_object(template.name, number),
                    json.dumps(version.to_json(), indent=2, sort_keys=True).encode(),
                    content_type=JSON,
                    metadata={"content-hash": digest, "author": author[:256]},
                    if_generation_match=0,
                )
            except ConflictError:
                # Someone stored this number first: read again, take the next.
                logger.info(
                    "prompts.push_raced name=%s version=%d", template.name, number
                )
                continue
            logger.info(
                "prompts.pushed name=%s version=%d hash=%s",
                template.name,
                number,
                digest[:19],
            )
            self._record(
                "push",
                template.name,
                version=number,
                previous_version=latest.version if latest is not None else None,
                content_hash=digest,
                author=author,
                message=message,
            )
            return PushResult(template.name, number, True, digest)
        raise ConflictError(
            f"template {template.name!r}: {MAX_ATTEMPTS} pushes in a row lost the race "
            "for the next version number; try again"
        )

    def promote(
        self, name: str, version: int, label: str, *, author: str, message: str = ""
    ) -> LabelMove:
        """Point ``label`` at ``version``; the move is one conditional write."""
        _check_label(label)
        self.version(name, version)  # it must exist

        try:
            current = self.label_state(name, label)
        except CorruptObjectError:
            current = None  # the move below sets it again
        if current is not None and current.version == version:
            # Already there: no write and no event, so that a repeated promote
            # (a CI job run twice) leaves no 3 -> 3 move for rollback to undo.
            logger.info(
                "prompts.label_unchanged name=%s label=%s version=%d",
                name,
                label,
                version,
            )
            return LabelMove(name, label, version, version)

        def move(state: LabelState | None) -> LabelState:
            stack = state.stack if state is not None else ()
            history = state.history if state is not None else ()
            entry = {
                "action": "promote",
                "version": version,
                "time": _now(),
                "author": author,
            }
            return LabelState(label, version, (*stack, version), (*history, entry))

        return self._move_label(
            name, label, move, "promote", author, message, replace_damaged=True
        )

    def rollback(
        self,
        name: str,
        label: str,
        *,
        author: str,
        to_version: int | None = None,
        message: str = "",
    ) -> LabelMove:
        """Move ``label`` back to its previous version (or to ``to_version``)."""
        _check_label(label)
        if to_version is not None:
            self.version(name, to_version)

        def move(state: LabelState | None) -> LabelState:
            if state is None:
                raise NotFoundError(
                    f"template {name!r} has no label {label!r} to roll back"
                )
            if to_version is not None:
                if to_version == state.version:
                    raise InputError(
                        f"label {label!r} of {name!r} is already at version "
                        f"{to_version}; nothing to roll back"
                    )
                if to_version not in state.stack[:-1]:
                    raise InputError(
                        f"label {label!r} of {name!r} is at version {state.version} "
                        f"and version {to_version} is not behind it (rollback goes "
                        "back through the versions the label was promoted to, "
                        f"{' -> '.join(map(str, state.stack))}, undoing each); to "
                        f"point it at {to_version}, run `llmops prompts promote "
                        f"{name}:{to_version} {label}`"
                    )
                stack = state.stack[: state.stack.index(to_version) + 1]
            else:
                if len(state.stack) < 2:
                    repaired = [h for h in state.history if h.get("action") == "repair"]
                    why = (
                        "it was set again over a damaged label object, whose history "
                        f"is kept at {repaired[-1].get('kept')}"
                        if repaired
                        else "every earlier promotion was already rolled back"
                    )
                    raise InputError(
                        f"label {label!r} of {name!r} has no earlier version to roll "
                        f"back to: it is at {state.version} and {why}; use `llmops "
                        "prompts promote` to choose a version"
                    )
                stack = state.stack[:-1]
            entry = {
                "action": "rollback",
                "version": stack[-1],
                "time": _now(),
                "author": author,
            }
            return LabelState(label, stack[-1], stack, (*state.history, entry))

        return self._move_label(name, label, move, "rollback", author, message)

    def _read_label(self, name: str, label: str) -> tuple[LabelState | None, int]:
        try:
            stored = self._objects.read(self.bucket, _label_object(name, label))
        except NotFoundError:
            return None, 0
        state = _decode(
            self.bucket,
            _label_object(name, label),
            stored,
            lambda doc, _source: LabelState.from_json(doc),
            f"`llmops prompts promote {name}:VERSION {label}` sets the label "
            "again and keeps the damaged object aside",
            cloud=self._cloud,
        )
        return state, stored.generation

    def _move_label(
        self,
        name: str,
        label: str,
        move: Callable[[LabelState | None], LabelState],
        action: str,
        author: str,
        message: str,
        *,
        replace_damaged: bool = False,
    ) -> LabelMove:
        self._require_events()
        for _ in range(MAX_ATTEMPTS):
            try:
                state, generation = self._read_label(name, label)
            except CorruptObjectError:
                if not replace_damaged:
                    raise
                # A promotion says where the label is to point, so it can
                # replace a damaged label; the damaged object is kept aside.
                generation, kept = self._set_aside(name, label)
                # The move starts a new history, which says where the old went.
                state = LabelState(
                    label, 0, (), ({"action": "repair", "kept": kept, "time": _now()},)
                )
            new = move(state)
            try:
                self._objects.write(
                    self.bucket,
                    _label_object(name, label),
                    json.dumps(new.to_json(), indent=2, sort_keys=True).encode(),
                    content_type=JSON,
                    if_generation_match=generation,
                )
            except ConflictError:
                # The label moved under us; apply the move to what it is now.
                logger.info("prompts.label_raced name=%s label=%s", name, label)
                continue
            previous = state.version if state is not None and state.version else None
            logger.info(
                "prompts.label_moved name=%s label=%s action=%s version=%d previous=%s",
                name,
                label,
                action,
                new.version,
                previous,
            )
            self._record(
                action,
                name,
                version=new.version,
                label=label,
                previous_version=previous,
                author=author,
                message=message,
            )
            return LabelMove(name, label, new.version, previous)
        raise ConflictError(
            f"label {label!r} of {name!r} moved {MAX_ATTEMPTS} times while this "
            "change was being written; try again"
        )

    def _set_aside(self, name: str, label: str) -> tuple[int, str]:
        """Copy a damaged label object aside; return its generation and copy."""
        path = _label_object(name, label)
        stored = self._objects.read(self.bucket, path)
        kept = f"templates/{name}/damaged/label-{label}-{stored.generation}.json"
        try:
            self._objects.write(
                self.bucket,
                kept,
                stored.data,
                content_type=stored.content_type or JSON,
                if_generation_match=0,
            )
        except ConflictError:
            pass  # kept by an earlier attempt
        logger.warning(
            "prompts.damaged_label_replaced name=%s label=%s kept=gs://%s/%s",
            name,
            label,
            self.bucket,
            kept,
        )
        return stored.generation, f"gs://{self.bucket}/{kept}"

    def _require_events(self) -> None:
        if self._events is None:
            raise ConfigError(
                "this prompt registry was opened without the events table, so it "
                "cannot record changes; open it with events=TableStore"
            )

    def _record(self, action: str, name: str, **fields: Any) -> None:
        self._require_events()
        assert self._events is not None
        row = {
            "event_time": _now(),
            "action": action,
            "template_name": name,
            **{key: value for key, value in fields.items() if value is not None},
        }
        try:
            self._events.insert(c.TABLE_PROMPT_REGISTRY_EVENTS, [row])
        except Exception:
            # The change itself is stored; say loudly that its record is not.
            logger.error(
                "prompts.event_not_recorded name=%s action=%s version=%s",
                name,
                action,
                fields.get("version"),
            )
            raise

    def sync(
        self, templates: Iterable[PromptTemplate], *, author: str, message: str = ""
    ) -> list[PushResult]:
        """Push each template; only those whose content changed get a version."""
        return [self.push(t, author=author, message=message) for t in templates]
