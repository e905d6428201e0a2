"""Detect a document's type and extract its text as headed sections.

Extraction never raises anything but ``DocumentError`` for a document it
cannot read: the reason is stored in the ingestion-events row, so it says why
and what to do, and never quotes the document.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from llmops.errors import DocumentError

CONTENT_TYPES = ("text", "markdown", "html", "pdf", "docx")

_EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".log": "text",
    ".csv": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
# The file name endings extraction reads, as `llmops demo --docs` selects them.
DOCUMENT_SUFFIXES = tuple(_EXTENSIONS)
_MIME = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx"),
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path (``"Guide > Install"``)."""

    heading: str
    text: str


@dataclass(frozen=True)
class Extracted:
    """A document's text, how it was read, and its detected type."""

    content_type: str
    sections: list[Section]
    # How the bytes were read when that is worth telling (an encoding guess).
    notes: list[str] = field(default_factory=list)

    @property
    def characters(self) -> int:
        return sum(len(s.text) for s in self.sections)


def detect_type(name: str, data: bytes, declared: str | None = None) -> str:
    """The document's type from its bytes first, then its name, then its MIME."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        if _is_docx(data):
            return "docx"
        raise DocumentError(
            "object is a ZIP archive but not a readable Word document (no "
            "word/document.xml, or damaged); re-save a .docx, or upload the "
            "files inside an archive one by one"
        )
    lowered = name.lower()
    dot = lowered.rfind(".")
    if dot > lowered.rfind("/"):
        kind = _EXTENSIONS.get(lowered[dot:])
        if kind is not None:
            return kind
    mime = (declared or "").split(";")[0].strip().lower()
    if mime in _MIME:
        return _MIME[mime]
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if mime.startswith("text/") or not mime or mime == "application/octet-stream":
        return "text"
    raise DocumentError(
        f"content type {mime!r} is not supported; upload text, Markdown, HTML, "
        "PDF or .docx"
    )


def extract(name: str, data: bytes, declared: str | None = None) -> Extracted:
    """Extract ``data`` (the object's bytes) into headed sections."""
    kind = detect_type(name, data, declared)
    if kind == "pdf":
        return Extracted(kind, _pdf_sections(data))
    if kind == "docx":
        return Extracted(kind, _docx_sections(data))
    text, note = decode_text(data, kind)
    notes = [note] if note else []
    if kind == "html":
        return Extracted(kind, _html_sections(text), notes)
    if kind == "markdown":
        return Extracted(kind, _markdown_sections(text), notes)
    return Extracted(kind, _text_sections(text), notes)


def decode_text(data: bytes, kind: str = "text") -> tuple[str, str | None]:
    """Decode text bytes; return the text and a note when it was not UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            name = "utf-8" if encoding == "utf-8-sig" else encoding
            text, broken = _decode_lenient(data, encoding)
            note = None if name == "utf-8" else f"decoded as {name} (byte-order mark)"
            if broken:
                read = note or "decoded as utf-8"
                note = f"{read}; {broken} undecodable bytes replaced"
            return text, note
    guessed = _utf16_without_bom(data)
    if guessed:
        text, broken = _decode_lenient(data, guessed)
        note = f"decoded as {guessed} (no byte-order mark)"
        return text, note + (f"; {broken} undecodable bytes replaced" if broken else "")
    if b"\x00" in data[:8192]:
        raise DocumentError(
            f"content is binary (NUL bytes) but the object is named as {kind}; "
            "upload a text file or give the object the right extension"
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass

    # Not UTF-8: take the best single-byte guess, refusing what reads as noise.
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:262_144])
    best = matches.best()
    if best is None or _control_ratio(data) > 0.05:
        raise DocumentError(
            f"content is not readable text in any known encoding though the "
            f"object is named as {kind}; re-save it as UTF-8"
        )
    encoding = best.encoding
    # A short single-byte text (KOI8-R, say) also decodes as a multi-byte
    # East Asian encoding, which the detector then picks with no language
    # evidence at all. A single-byte reading that does show a language wins.
    if encoding.startswith(_MULTI_BYTE) and best.coherence == 0.0:
        single = from_bytes(data[:262_144], cp_exclusion=list(_MULTI_BYTE_CODECS))
        alternative = single.best()
        if (
            alternative is not None
            and alternative.coherence >= 0.2
            and alternative.chaos <= 0.05
        ):
            best, encoding, matches = alternative, alternative.encoding, single
    # Short Western text fits several single-byte code pages equally well;
    # Windows-1252 is by far the most common of them, so it wins a tie.
    if any(
        m.encoding == "cp1252"
        and m.chaos <= best.chaos + 0.05
        and m.coherence >= best.coherence - 0.1
        for m in matches
    ):
        encoding = "cp1252"
    # Mac and DOS code pages are rarely what a document today was saved in:
    # a Windows code page that reads the bytes about as well is the likelier
    # one (Windows-1251 for Russian, say), and failing that Windows-1252.
    if encoding.startswith(_RARE_CODE_PAGES):
        common = next(
            (
                m.encoding
                for m in matches
                if not m.encoding.startswith(_RARE_CODE_PAGES)
                and m.chaos <= best.chaos + 0.05
                and m.coherence >= best.coherence - 0.1
            ),
            None,
        )
        if common is not None:
            encoding = common
        elif _decodes(data, "cp1252"):
            encoding = "cp1252"
    try:
        return data.decode(encoding), f"decoded as {encoding}"
    except (UnicodeDecodeError, LookupError):
        return data.decode("cp1252", errors="replace"), "decoded as cp1252"


_RARE_CODE_PAGES = ("mac_", "cp4", "cp7", "cp8")
# Multi-byte encodings, by prefix and by the names charset_normalizer uses.
_MULTI_BYTE = (
    "shift_jis",
    "cp932",
    "euc_",
    "cp949",
    "gb",
    "big5",
    "cp950",
    "johab",
    "hz",
    "iso2022",
    "utf_16",
    "utf_32",
)
_MULTI_BYTE_CODECS = (
    "shift_jis",
    "shift_jis_2004",
    "shift_jisx0213",
    "cp932",
    "euc_jp",
    "euc_jis_2004",
    "euc_jisx0213",
    "euc_kr",
    "cp949",
    "johab",
    "gb2312",
    "gbk",
    "gb18030",
    "hz",
    "big5",
    "big5hkscs",
    "cp950",
    "iso2022_jp",
    "iso2022_jp_1",
    "iso2022_jp_2",
    "iso2022_jp_2004",
    "iso2022_jp_3",
    "iso2022_jp_ext",
    "iso2022_kr",
    "utf_16",
    "utf_16_be",
    "utf_16_le",
    "utf_32",
    "utf_32_be",
    "utf_32_le",
)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _decode_lenient(data: bytes, encoding: str) -> tuple[str, int]:
    """Decode, replacing what does not decode; say how much was replaced."""
    try:
        return data.decode(encoding), 0
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        return text, text.count("\ufffd")


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 8:
        return None
    even = sample[0::2].count(0) / (len(sample) / 2)
    odd = sample[1::2].count(0) / (len(sample) / 2)
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def _control_ratio(data: bytes) -> float:
    sample = data[:65536]
    if not sample:
        return 0.0
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls / len(sample)


# Headings -------------------------------------------------------------------

# A man page's section names: NAME, SYNOPSIS, DESCRIPTION, EXIT STATUS.
_CAPS_HEADING = re.compile(r"^[A-Z][A-Z0-9 ,/&()-]{1,38}[A-Z)]$")
_SETEXT = re.compile(r"^([=\-*~^#+`'\".:_])\1{2,}\s*$")
_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


class _Outline:
    """Tracks the heading path while sections are read in order."""

    def __init__(self) -> None:
        self.path: list[tuple[int, str]] = []
        self.sections: list[Section] = []
        self.lines: list[str] = []

    def heading(self, level: int, title: str) -> None:
        self.flush()
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        self.path.append((level, " ".join(title.split())))

    def line(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        text = _BLANKS.sub("\n\n", "\n".join(self.lines)).strip()
        self.lines = []
        if text:
            heading = " > ".join(title for _, title in self.path)
            self.sections.append(Section(heading, text))


def _text_sections(text: str) -> list[Section]:
    """Plain text and reStructuredText: underlined lines are headings."""
    outline = _Outline()
    levels: dict[str, int] = {}
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        underline = lines[i + 1] if i + 1 < len(lines) else ""
        title = line.strip()
        match = _SETEXT.match(underline)
        if (
            title
            and match
            and len(underline.strip()) >= max(3, len(title) * 2 // 3)
            and not _SETEXT.match(line)
        ):
            char = match.group(1)
            level = levels.setdefault(char, len(levels) + 1)
            outline.heading(level, title)
            i += 2
            continue
        previous = lines[i - 1].strip() if i else ""
        if line == title and _CAPS_HEADING.match(title) and not previous:
            # An unindented all-capitals line after a blank one: a section
            # name, as man pages and many plain-text manuals write them.
            level = levels.setdefault("CAPS", len(levels) + 1)
            outline.heading(level, title)
            i += 1
            continue
        outline.line(line)
        i += 1
    outline.flush()
    return outline.sections


def _markdown_sections(text: str) -> list[Section]:
    outline = _Outline()
    lines = text.replace("\r\n", "\n").split("\n")
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            atx = _ATX.match(line)
            if atx:
                outline.heading(len(atx.group(1)), atx.group(2))
                i += 1
                continue
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if line.strip() and re.match(r"^(=+|-+)\s*$", nxt) and len(nxt) >= 3:
                outline.heading(1 if nxt.startswith("=") else 2, line.strip())
                i += 2
                continue
        outline.line(line)
        i += 1
    outline.flush()
    return outline.sections


_HEADING_MARK = "\x00H"
_HTML_BLOCKS = [
    "p",
    "div",
    "li",
    "tr",
    "pre",
    "blockquote",
    "dt",
    "dd",
    "section",
    "article",
    "table",
    "ul",
    "ol",
    "dl",
    "figcaption",
    "header",
    "footer",
]


def _html_sections(text: str) -> list[Section]:
    from bs4 import BeautifulSoup

    # NUL never belongs in HTML text, and it marks headings below.
    soup = BeautifulSoup(text.replace("\x00", ""), "html.parser")
    # The <title> heads the page only when no <h1> does (they usually repeat).
    title = soup.title.get_text() if soup.title and not soup.find("h1") else ""
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    # Page furniture (navigation bars, "Next / Previous / Up" links) would
    # otherwise be indexed on every page and outrank the content.
    for tag in soup.find_all(_is_navigation):
        tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            heading = " ".join(tag.get_text(" ").split())
            tag.replace_with(f"\n{_HEADING_MARK}{level}{heading}\n")
    # Block elements end lines; inline ones (b, a, span) stay within them.
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.append("\n")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    outline = _Outline()
    if title.strip():
        outline.heading(0, title)
    for line in soup.get_text("").split("\n"):
        if line.startswith(_HEADING_MARK) and line[2:3].isdigit():
            outline.heading(int(line[2]), line[3:])
        else:
            outline.line(" ".join(line.split()))
    outline.flush()
    return outline.sections


_NAVIGATION_CLASSES = frozenset(
    {
        "nav",
        "navbar",
        "navigation",
        "breadcrumb",
        "breadcrumbs",
        "header",
        "footer",
        "sidebar",
        "toc",
        "menu",
        "skip-link",
        "related",
    }
)


def _is_navigation(tag: Any) -> bool:
    if tag.name in ("nav", "aside", "footer"):
        return True
    if tag.get("role") in ("navigation", "banner", "contentinfo"):
        return True
    classes = tag.get("class") or []
    return any(str(c).lower() in _NAVIGATION_CLASSES for c in classes)


def _pdf_sections(data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf's own warnings quote the bytes it trips over: document content,
    # which never goes to the logs.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(
                "PDF is encrypted with a password; upload an unprotected copy"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise DocumentError(
            f"PDF cannot be parsed ({type(error).__name__}); re-export it from "
            "its source application"
        ) from None
    except Exception as error:  # pypdf raises many kinds on damaged files
        raise DocumentError(
            f"PDF cannot be parsed ({type(error).__name__}); re-export it from "
            "its source application"
        ) from None
    title = ""
    try:
        title = (reader.metadata.title if reader.metadata else "") or ""
    except Exception:
        title = ""
    sections = []
    for number, page in enumerate(pages, start=1):
        for section in _text_sections(page):
            heading = section.heading or f"page {number}"
            prefix = f"{title.strip()} > " if title.strip() else ""
            sections.append(Section(prefix + heading, section.text))
    if not sections:
        raise DocumentError(
            f"PDF has no text layer ({len(pages)} pages, all images or empty); "
            "run OCR on it and upload the searchable PDF"
        )
    return sections


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


# A .docx expands to this many times its size at most, or it is refused:
# ordinary documents stay well under 20; a zip bomb is far over.
MAX_DOCX_EXPANSION = 100


def _check_expansion(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise DocumentError(
            "Word document is not a valid ZIP container (truncated or damaged); "
            "re-save it as .docx"
        ) from None
    if expanded > MAX_DOCX_EXPANSION * max(len(data), 1):
        raise DocumentError(
            f"Word document would expand to {expanded} bytes from {len(data)}, "
            f"over {MAX_DOCX_EXPANSION} times its size; it looks like a zip "
            "bomb and is not read"
        )


def _docx_sections(data: bytes) -> list[Section]:
    import docx

    _check_expansion(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:
        raise DocumentError(
            f"Word document cannot be opened ({type(error).__name__}); re-save "
            "it as .docx"
        ) from None
    outline = _Outline()
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        match = re.match(r"^(?:Heading|Title)\s*(\d*)$", style or "")
        if match and paragraph.text.strip():
            outline.heading(int(match.group(1) or 1), paragraph.text)
        else:
            outline.line(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            outline.line(" | ".join(cell.text.strip() for cell in row.cells))
    outline.flush()
    return outline.sections
