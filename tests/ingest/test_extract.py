"""Type detection and text extraction."""

from __future__ import annotations

import pydoc_data.topics

import pytest

from llmops.errors import DocumentError
from llmops.ingest.extract import detect_type, extract
from tests.ingest import documents


def test_reference_text_keeps_underlined_headings() -> None:
    """A pydoc topic's underlined title becomes the heading of its text."""
    result = extract("topics/assert.txt", pydoc_data.topics.topics["assert"].encode())
    assert result.content_type == "text"
    assert result.sections[0].heading == 'The "assert" statement'
    assert "assert_stmt" in result.sections[0].text


def test_markdown_heading_path_is_kept() -> None:
    """Markdown sections carry the path of headings above them."""
    text = "# Guide\n\nintro\n\n## Install\n\nrun pip\n\n```\n# not a heading\n```\n"
    result = extract("guide.md", text.encode())
    assert [s.heading for s in result.sections] == ["Guide", "Guide > Install"]
    assert "# not a heading" in result.sections[1].text


def test_html_drops_scripts_and_uses_headings() -> None:
    """HTML text is read without scripts, under its h1/h2 headings."""
    html = (
        "<html><head><title>T</title><script>var x = 'secret';</script></head>"
        "<body><h1>Top</h1><p>alpha <b>beta</b></p><h2>Sub</h2><p>gamma</p></body>"
        "</html>"
    )
    result = extract("page.html", html.encode())
    assert [s.heading for s in result.sections] == ["Top", "Top > Sub"]
    assert "alpha beta" in result.sections[0].text
    assert all("secret" not in s.text for s in result.sections)


def test_pdf_text_layer_is_extracted_per_page() -> None:
    """Each page of a PDF with a text layer yields its text."""
    data = documents.pdf_with_text(["first page words", "second page words"])
    result = extract("report.pdf", data)
    assert result.content_type == "pdf"
    assert [s.text for s in result.sections] == [
        "first page words",
        "second page words",
    ]
    assert result.sections[1].heading == "page 2"


def test_pdf_without_text_layer_fails_with_reason() -> None:
    """A scanned PDF with no text layer is refused, saying OCR is needed."""
    with pytest.raises(DocumentError, match=r"no text layer.*OCR"):
        extract("scan.pdf", documents.pdf_without_text(3))


def test_docx_headings_become_sections() -> None:
    """A Word document's Heading styles start sections."""
    data = documents.docx(
        [("Policy", "Travel is booked early."), ("Scope", "Everyone.")]
    )
    result = extract("policy.docx", data)
    assert result.content_type == "docx"
    assert [(s.heading, s.text) for s in result.sections] == [
        ("Policy", "Travel is booked early."),
        ("Scope", "Everyone."),
    ]


def test_binary_named_as_text_is_refused() -> None:
    """Bytes with NULs under a .txt name fail, naming the problem."""
    with pytest.raises(DocumentError, match="binary"):
        extract("notes.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50)


@pytest.mark.parametrize(
    ("encoding", "note"),
    [
        ("cp1252", "decoded as cp1252"),
        ("utf-16", "decoded as utf-16 (byte-order mark)"),
    ],
)
def test_legacy_encodings_are_decoded_and_noted(encoding: str, note: str) -> None:
    """cp1252 and UTF-16 text is read correctly, and how it was read is noted."""
    text = "Crème brûlée and café au lait are on the menu, naïvely priced at 5€."
    result = extract("menu.txt", text.encode(encoding))
    assert result.sections[0].text == text
    assert result.notes == [note]


def test_zip_that_is_not_docx_is_refused() -> None:
    """A ZIP archive is not taken for a Word document."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(DocumentError, match="ZIP archive"):
        detect_type("bundle.docx", buffer.getvalue())


def test_html_navigation_is_not_indexed() -> None:
    """Navigation bars and page headers are dropped; the content stays."""
    html = (
        "<html><body><div class='header'>Next: Closures, Up: Using libffi</div>"
        "<nav>Home | Index</nav><h1>Thread Safety</h1>"
        "<p>libffi is mostly thread-safe.</p>"
        "<footer>Copyright</footer></body></html>"
    )
    text = " ".join(s.text for s in extract("page.html", html.encode()).sections)
    assert "thread-safe" in text
    assert not any(word in text for word in ("Next:", "Index", "Copyright"))


def test_man_page_section_names_become_headings() -> None:
    """Unindented capital lines after a blank line head their sections."""
    text = "NAME\n       tar - an archiver\n\nOPTIONS\n       --exclude=PATTERN\n"
    sections = extract("tar.txt", text.encode()).sections
    assert [(s.heading, s.text) for s in sections] == [
        ("NAME", "tar - an archiver"),
        ("OPTIONS", "--exclude=PATTERN"),
    ]


def test_german_cp1252_is_not_read_as_a_mac_code_page() -> None:
    """Short German text in Windows-1252 decodes to the right letters."""
    text = "Der Bär äß grüne Äpfel für 5€."
    result = extract("note.txt", text.encode("cp1252"))
    assert result.sections[0].text == text and result.notes == ["decoded as cp1252"]


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("koi8_r", "Привет, мир! Это документ о политике отпусков для сотрудников."),
        ("koi8_u", "Відпустка працівників: правила та строки подання заяви."),
        ("cp1251", "Привет, мир! Это документ о политике отпусков."),
        ("shift_jis", "こんにちは世界、これは文書です。休暇の方針について説明します。"),
        ("gb18030", "你好世界，这是一份关于员工休假政策的文件。"),
        ("euc_kr", "안녕하세요 세계, 이것은 직원 휴가 정책에 관한 문서입니다."),
    ],
)
def test_short_cyrillic_and_cjk_texts_are_read_in_their_encoding(
    encoding: str, text: str
) -> None:
    """KOI8 is not taken for Shift JIS, nor Windows-1251 for a Mac code page."""
    result = extract("note.txt", text.encode(encoding))
    assert result.sections[0].text == text
    assert result.notes and result.notes[0].startswith("decoded as ")
