"""The main job on real documents: ingest a corpus, then search it.

By default the corpus is Python's own reference documentation as bundled
with the interpreter (``pydoc_data.topics``, one file per topic), plus any
PDF, HTML or Markdown found under ``--docs DIR``. Everything runs through the
same path as production: files are uploaded to the docs bucket, the storage
emulator emits events, the relay delivers them as CloudEvents to the
ingestion function, and the searches read what the function indexed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llmops.ingest.extract import DOCUMENT_SUFFIXES as DOC_SUFFIXES


@dataclass(frozen=True)
class Probe:
    """A question and the topics whose text answers it."""

    question: str
    answers: tuple[str, ...]


PROBES = (
    Probe(
        "What does the finally clause of a try statement do?",
        ("topics/try.txt", "topics/compound.txt", "topics/exceptions.txt"),
    ),
    Probe(
        "Which methods does a context manager define for the with statement?",
        ("topics/context-managers.txt", "topics/with.txt", "topics/compound.txt"),
    ),
    Probe(
        "When are default parameter values of a function evaluated?",
        ("topics/function.txt", "topics/compound.txt"),
    ),
    Probe(
        "How do I format a number with a thousands separator in an f-string?",
        ("topics/formatstrings.txt", "topics/strings.txt"),
    ),
    Probe(
        "How does a generator function pause and resume with yield?",
        ("topics/yield.txt", "topics/types.txt", "topics/typesfunctions.txt"),
    ),
    Probe(
        "How do I remove a key from a dictionary?",
        ("topics/typesmapping.txt", "topics/dict.txt", "topics/del.txt"),
    ),
    Probe("What does the global statement do?", ("topics/global.txt",)),
    Probe("What does the nonlocal statement do?", ("topics/nonlocal.txt",)),
    Probe("How do I write an anonymous function with lambda?", ("topics/lambda.txt",)),
    Probe("What does the pass statement do?", ("topics/pass.txt",)),
    Probe(
        "How does the import statement find and load a module?",
        ("topics/import.txt",),
    ),
    Probe(
        "How are chained comparisons like a < b < c evaluated?",
        ("topics/comparisons.txt",),
    ),
    Probe(
        "What happens to assert statements when Python runs with optimisation?",
        ("topics/assert.txt",),
    ),
    Probe(
        "What is the difference between is and == ?",
        ("topics/comparisons.txt",),
    ),
    Probe(
        "How do I define a method that runs when an attribute is missing?",
        (
            "topics/attribute-access.txt",
            "topics/specialnames.txt",
            "topics/customization.txt",
        ),
    ),
    Probe(
        "How do I raise an exception that was caused by another one?",
        ("topics/raise.txt", "topics/exceptions.txt"),
    ),
)


def write_reference_topics(folder: Path) -> list[Path]:
    """Write each pydoc topic as ``topics/<name>.txt`` under ``folder``."""
    import pydoc_data.topics

    topics = folder / "topics"
    topics.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in sorted(pydoc_data.topics.topics.items()):
        path = topics / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def extra_documents(docs: Path) -> list[tuple[Path, str]]:
    """(file, object name) for the files under docs that extraction reads."""
    files = sorted(
        p for p in docs.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES
    )
    return [(p, "docs/" + p.relative_to(docs).as_posix()) for p in files]


def unreadable_documents(docs: Path) -> list[Path]:
    """The files under docs that extraction does not read, left out of the job."""
    return sorted(
        p
        for p in docs.rglob("*")
        if p.is_file()
        and p.suffix.lower() not in DOC_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(docs).parts)
    )


@contextmanager
def corpus(
    docs: Path | None, *, seeded: bool = False, limit: int | None = None
) -> Iterator[list[tuple[Path, str]]]:
    """The files of the main job's corpus, with their object names."""
    with tempfile.TemporaryDirectory(prefix="llmops-corpus-") as tmp:
        root = Path(tmp)
        files = [
            (p, p.relative_to(root).as_posix())
            for p in write_reference_topics(root)[:limit]
        ]
        if docs is not None:
            files += extra_documents(docs)
        if seeded:
            path = root / SEEDED_OBJECT
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(seeded_document(), encoding="utf-8")
            files.append((path, SEEDED_OBJECT))
        yield files


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start


# Synthetic personal data for the redaction run: documented test values (card
# numbers from issuers' test ranges, IBANs from the standard's examples,
# addresses in reserved domains and blocks), one line each, so that the run
# can show they were found, counted and kept out of the index and the tables.
SEEDED_VALUES: dict[str, tuple[str, ...]] = {
    "EMAIL_ADDRESS": ("dana.whitfield@example.com",),
    "PHONE_NUMBER": ("+44 20 7946 0958",),
    "CREDIT_CARD_NUMBER": ("4111 1111 1111 1111", "5500-0000-0000-0004"),
    "IBAN_CODE": ("GB82 WEST 1234 5698 7654 32",),
    "IP_ADDRESS": ("192.168.10.20",),
    "US_SOCIAL_SECURITY_NUMBER": ("536-22-1234",),
}
SEEDED_OBJECT = "seeded/customer-records.txt"


def seeded_document() -> str:
    """A short customer-service note that carries every seeded value."""
    lines = [
        "Customer records",
        "================",
        "",
        "Refund case 1187: the customer asked for a refund of a duplicate charge.",
    ]
    for info_type, values in SEEDED_VALUES.items():
        for value in values:
            label = info_type.replace("_", " ").lower()
            lines.append(f"The {label} on file for the refund case is {value}.")
    lines.append("The refund was approved by the billing team.")
    return "\n".join(lines) + "\n"


def seeded_values() -> list[str]:
    return [v for values in SEEDED_VALUES.values() for v in values]


def occurrences(values: list[str], texts: list[str]) -> dict[str, int]:
    """How often each value appears in the texts (spacing and dashes ignored)."""

    def squeeze(text: str) -> str:
        return "".join(ch for ch in text if ch not in " -.()")

    squeezed = [squeeze(t) for t in texts]
    found = {}
    for value in values:
        key = squeeze(value)
        count = sum(t.count(key) for t in squeezed)
        if count:
            found[value] = count
    return found
