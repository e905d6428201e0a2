"""Per info type, what a redactor puts in place of a value it found.

A policy is written as a compact string, one ``INFO_TYPE=action`` entry per
comma, with ``*=action`` for every type not named::

    EMAIL_ADDRESS=mask,PHONE_NUMBER=hash,IP_ADDRESS=redact,*=mask

``mask`` (the default) puts the info type in brackets, ``[EMAIL_ADDRESS]``;
``redact`` removes the value; ``hash`` puts a keyed HMAC-SHA256 token,
``[EMAIL_ADDRESS:3f9a0c1d5e7b2a64]``, the same for the same value and key on
every call, so rows can still be joined on it without holding the value.
"""

from __future__ import annotations

import bisect
import difflib
import enum
import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from llmops.errors import ConfigError
from llmops.protection._redaction import (
    EMAIL_ADDRESS,
    OFFLINE_INFO_TYPES,
    PERSON_NAME,
    Finding,
    Redaction,
)

# Info-type names a policy accepts unless the caller widens the set (Cloud DLP
# knows many more; pass ``known=None`` to allow any well-formed name).
KNOWN_INFO_TYPES = frozenset((*OFFLINE_INFO_TYPES, PERSON_NAME))
MIN_HASH_KEY_BYTES = 16
DEFAULT_HASH_CHARS = 16
_INFO_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_SEPARATORS = re.compile(r"[\s().\-/]+")


class Action(enum.Enum):
    """What replaces a value found in text."""

    REDACT = "redact"
    MASK = "mask"
    HASH = "hash"


def _action(entry: str, raw: str) -> Action:
    try:
        return Action(raw.strip().lower())
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise ConfigError(
            f"redaction policy entry {entry!r} has action {raw.strip()!r}; "
            f"use one of {choices}"
        ) from None


def _normalized(info_type: str, value: str) -> str:
    # Formatting variants of one value hash alike: e-mail case, and the
    # spaces, dots and dashes people put into numbers.
    if info_type == EMAIL_ADDRESS:
        return value.strip().lower()
    if info_type == PERSON_NAME:
        return " ".join(value.split()).lower()
    return _SEPARATORS.sub("", value).upper()


@dataclass(frozen=True)
class RedactionPolicy:
    """The action per info type, with a default for the types not named."""

    actions: Mapping[str, Action] = field(default_factory=dict)
    default: Action = Action.MASK
    hash_key: bytes | None = field(default=None, repr=False)
    hash_chars: int = DEFAULT_HASH_CHARS

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", MappingProxyType(dict(self.actions)))
        hashing = self.default is Action.HASH or Action.HASH in self.actions.values()
        if hashing and (
            self.hash_key is None or len(self.hash_key) < MIN_HASH_KEY_BYTES
        ):
            raise ConfigError(
                "the redaction policy hashes values but its hash key is "
                f"{'missing' if self.hash_key is None else 'too short'}; give a "
                f"secret of at least {MIN_HASH_KEY_BYTES} bytes, kept in Secret "
                "Manager, the same for every writer so tokens join"
            )
        if not 8 <= self.hash_chars <= 64:
            raise ConfigError(
                f"hash_chars must be between 8 and 64 hex characters, got "
                f"{self.hash_chars}"
            )

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        hash_key: bytes | str | None = None,
        known: Collection[str] | None = KNOWN_INFO_TYPES,
        hash_chars: int = DEFAULT_HASH_CHARS,
    ) -> RedactionPolicy:
        """Read ``INFO_TYPE=action,...``; raise ConfigError naming a bad entry."""
        actions: dict[str, Action] = {}
        default = Action.MASK
        seen: set[str] = set()

        for entry in (part.strip() for part in spec.split(",")):
            if not entry:
                continue
            name, sep, raw_action = entry.partition("=")
            name = name.strip()
            if not sep or not name or not raw_action.strip():
                raise ConfigError(
                    f"redaction policy entry {entry!r} is not INFO_TYPE=action; "
                    "write e.g. EMAIL_ADDRESS=mask,PHONE_NUMBER=hash"
                )
            if name in seen:
                raise ConfigError(
                    f"redaction policy names {name} twice (entry {entry!r}); "
                    "keep one entry per info type"
                )
            seen.add(name)
            action = _action(entry, raw_action)
            if name == "*":
                default = action
                continue
            if not _INFO_TYPE_NAME.match(name):
                raise ConfigError(
                    f"redaction policy entry {entry!r}: {name!r} is not an info "
                    "type name; use upper-case DLP names such as EMAIL_ADDRESS"
                )
            if known is not None and name not in known:
                close = [k for k in sorted(known) if name in k] or (
                    difflib.get_close_matches(name, sorted(known), n=1)
                )
                hint = f"did you mean {close[0]}? " if close else ""
                raise ConfigError(
                    f"redaction policy entry {entry!r}: {name} is not an info "
                    f"type the redactor finds; {hint}known: "
                    f"{', '.join(sorted(known))}"
                )
            actions[name] = action

        key = hash_key.encode() if isinstance(hash_key, str) else hash_key
        return cls(actions, default, key, hash_chars)

    def action(self, info_type: str) -> Action:
        """The action for one info type."""
        return self.actions.get(info_type, self.default)

    def replacement(self, info_type: str, value: str) -> str:
        """What takes the place of ``value``, found as ``info_type``."""
        action = self.action(info_type)
        if action is Action.REDACT:
            return ""
        if action is Action.MASK:
            return f"[{info_type}]"
        assert self.hash_key is not None  # checked at construction
        message = f"{info_type}\x00{_normalized(info_type, value)}".encode()
        digest = hmac.new(self.hash_key, message, hashlib.sha256).hexdigest()
        return f"[{info_type}:{digest[: self.hash_chars]}]"

    def apply(self, text: str, findings: Iterable[Finding]) -> Redaction:
        """Replace every finding in ``text``; overlapping findings keep the first.

        Findings are taken in the order given where they overlap, so a caller
        lists the more specific recognizer's findings first.
        """
        # Kept findings never overlap, so sorted by start they are sorted by
        # end too, and only the neighbours of an insertion point can collide.
        kept: list[Finding] = []
        starts: list[int] = []
        for finding in findings:
            if finding.end > len(text):
                raise ValueError(
                    f"finding {finding.info_type} ends at {finding.end}, past the "
                    f"text's {len(text)} characters"
                )
            at = bisect.bisect_left(starts, finding.start)
            if at > 0 and kept[at - 1].end > finding.start:
                continue
            if at < len(kept) and kept[at].start < finding.end:
                continue
            kept.insert(at, finding)
            starts.insert(at, finding.start)

        parts: list[str] = []
        cursor = 0
        for finding in kept:
            parts.append(text[cursor : finding.start])
            value = text[finding.start : finding.end]
            parts.append(self.replacement(finding.info_type, value))
            cursor = finding.end
        parts.append(text[cursor:])
        counts = Counter(f.info_type for f in kept)
        return Redaction("".join(parts), counts)
