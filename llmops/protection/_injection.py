"""A documented detector of prompt-injection patterns in documents and prompts.

Two kinds of signal, each a guardrail flag:

``prompt_injection``
    Instructions aimed at the model. Each rule below has a weight; the weights
    of the distinct rules that match within one window of text (600
    characters) add up to a score, and the flag is raised when the best
    window's score reaches the threshold (1.0 by default). Strong rules weigh
    1.0 and flag alone; weak ones (0.5 to 0.8) flag only together, near each
    other, so a long document does not add up scattered ordinary phrases.
``hidden_text``
    Text a reader does not see but a model does: Unicode tag characters,
    bidirectional override controls, zero-width characters inside words,
    very long base64 blobs, and, when the source is HTML, comments and
    invisibly styled elements. Hidden text is decoded where it can be (tag
    characters, base64) and scanned for instructions too.

Text is folded first (NFKC, zero-width characters removed, lower case), so
full-width ``ｉｇｎｏｒｅ`` and ``ignore`` with a zero-width space (U+200B)
spliced in both read as ``ignore``. The rules are English
only; see docs/data-protection.md for what they miss.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bs4 import BeautifulSoup, Comment

from llmops.errors import ConfigError

PROMPT_INJECTION = "prompt_injection"
HIDDEN_TEXT = "hidden_text"
DEFAULT_THRESHOLD = 1.0
DEFAULT_BASE64_MIN_CHARS = 256
# Letters of invisible HTML text that are hidden text even without
# instructions in them (an icon's label is shorter).
DEFAULT_HIDDEN_HTML_MIN_LETTERS = 80
# Weak rules add up only when their matches fall within this many characters.
DEFAULT_WINDOW_CHARS = 600
# Matches kept per rule and segment; enough to find the best window.
_MAX_MATCHES_PER_RULE = 64


@dataclass(frozen=True)
class Rule:
    """One pattern of instructions aimed at the model, with its weight."""

    name: str
    weight: float
    pattern: re.Pattern[str]
    description: str


def _rule(name: str, weight: float, pattern: str, description: str) -> Rule:
    return Rule(name, weight, re.compile(pattern), description)


_TARGETS = (
    r"(?:instructions?|prompts?|rules|directions|guidelines|guidance|directives"
    r"|guardrails"
    r"|programming|(?:content\s+|safety\s+)?polic(?:y|ies)|safety\s+\w+)"
)

# Limitation: English phrasings only; paraphrases and other languages pass
# (held-out recall is measured in the tests) until a trained classifier or a
# cloud screening service backs these rules.
RULES: tuple[Rule, ...] = (
    _rule(
        "ignore_instructions",
        1.0,
        r"\b(?:ignore|disregard|forget|override|set\s+aside|abandon|drop)\b"
        r"(?:\W+\w+){0,3}?\W+"
        r"(?:previous|prior|above|earlier|preceding|former|original|all|any|your"
        r"|system)\W+(?:\w+\W+){0,2}?" + _TARGETS + r"\b",
        "tells the model to drop its instructions: 'ignore previous instructions'",
    ),
    _rule(
        "ignore_everything",
        1.0,
        r"\b(?:ignore|disregard|forget)\s+(?:everything|anything|all)\s+(?:that\s+)?"
        r"(?:you\s+|i\s+)?(?:were|was|have\s+been|had\s+been|'ve\s+been)?\s*"
        r"(?:told|said|given|instructed)\b"
        r"|\b(?:ignore|disregard|forget)\s+(?:the\s+|all\s+)?(?:previous|prior|earlier"
        r"|above)\s+(?:context|conversation)\b"
        r"|\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?)?(?:the|everything)\s+"
        r"(?:above|before)\s*(?:[.,;:!]|and\b|$)"
        r"|\b(?:ignore|disregard|forget)\s+(?:the\s+)?(?:\w+\s+)?(?:rules|instructions"
        r"|guidelines)\s+(?:you\s+(?:were|have\s+been)\s+given|above)\b",
        "tells the model to drop what came before: 'forget everything you were told'",
    ),
    _rule(
        "new_instructions",
        0.6,
        r"\b(?:new|updated|real|actual|true|secret|hidden)\s+(?:system\s+)?"
        r"(?:instructions|prompt|directives)\s*(?::|are\b)"
        r"|\byour\s+new\s+(?:task|role|job|goal|purpose|rules?)\s+(?:is|are)\b"
        r"|\bnew\s+rules?\s*:",
        "announces replacement instructions: 'new instructions:'",
    ),
    _rule(
        "role_override",
        1.0,
        r"\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+)?(?:\w+\s+){0,2}?"
        r"(?:ai|assistant|model|bot|chatbot|dan|character|persona|unrestricted"
        r"|unfiltered|uncensored|free|jailbroken)\b"
        r"|\bno\s+longer\s+(?:bound|restricted|limited|constrained)\s+by\b"
        r"|\b(?:act|behave|respond)\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered"
        r"|uncensored|jailbroken|evil|unaligned)\b"
        r"|\b(?:dan|jailbreak|god)\s+mode\b|\bdo\s+anything\s+now\b"
        r"|\bstop\s+being\s+(?:an?\s+)?(?:ai|assistant|chatbot|helpful|harmless)\b"
        r"|\byou\s+(?:have|has)\s+no\s+(?:rules|restrictions|limits|filters"
        r"|guidelines|guardrails)\b"
        r"|\byour\s+(?:\w+\s+)?(?:rules|instructions|guidelines|restrictions"
        r"|polic(?:y|ies))\s+(?:no\s+longer|do\s+not|don't)\s+apply\b"
        r"|\b(?:new|updated|real|actual)\s+system\s+(?:prompt|instructions"
        r"|message)\s*:",
        "overrides the model's role: 'you are now DAN', 'act as an unfiltered AI'",
    ),
    _rule(
        "role_play",
        0.5,
        r"\bpretend\s+(?:to\s+be|you\s+are|that\s+you)\b"
        r"|\bfrom\s+now\s+on,?\s+you\b|\bstay\s+in\s+character\b",
        "asks for role play, which injections use to slip their rules",
    ),
    _rule(
        "developer_mode",
        0.6,
        r"\b(?:developer|debug|maintenance|admin)\s+mode\s+(?:enabled|activated|on)\b"
        r"|\benable\s+(?:developer|debug|admin)\s+mode\b"
        r"|\bno\s+(?:content\s+)?(?:policy|policies|filters?|restrictions)\b",
        "claims a mode or a lack of policy that lifts the model's rules",
    ),
    _rule(
        "prompt_exfiltration",
        1.0,
        r"\b(?:reveal|print|show|repeat|output|display|leak|disclose|tell\s+me"
        r"|give\s+me|share|dump|write\s+out|recite)\b(?:\W+\w+){0,4}?\W+"
        r"(?:your\s+(?:system|initial|hidden|original|secret)\s+"
        r"(?:prompt|instructions|message)|your\s+(?:instructions|prompt|rules"
        r"|guidelines|configuration))\b"
        r"|\bwhat\s+(?:is|are|were)\s+your\s+(?:system\s+prompt|instructions"
        r"|initial\s+instructions)\b"
        r"|\b(?:words|text|wording|content)\s+of\s+your\s+(?:system\s+prompt"
        r"|instructions|prompt)\b",
        "asks the model to disclose its system prompt or instructions",
    ),
    _rule(
        "prompt_probe",
        0.6,
        r"\b(?:reveal|print|show|repeat|output|display|leak|disclose|tell\s+me"
        r"|give\s+me|dump|recite)\b(?:\W+\w+){0,4}?\W+the\s+(?:system|initial"
        r"|hidden|original|secret)\s+(?:prompt|instructions|message)\b",
        "asks for 'the system prompt', which ordinary text does too",
    ),
    _rule(
        "prompt_reference",
        0.5,
        r"\b(?:instructions|prompt)\s+you\s+(?:were|have\s+been)\s+"
        r"(?:given|configured|set\s+up)\b",
        "refers to the instructions the model was given",
    ),
    _rule(
        "data_exfiltration",
        0.5,
        r"\b(?:send|e-?mail|forward|post|upload)\s+(?:this|the|all)\s+(?:\w+\s+)?"
        r"(?:document|conversation|chat|data|file|emails?|history)\s+to\b",
        "asks for the text or the conversation to be sent somewhere",
    ),
    _rule(
        "chat_markup",
        0.6,
        r"<\|im_start\|>|<\|im_end\|>|<\|system\|>|<\|start_header_id\|>"
        r"|\[/?inst\]|<<\s*/?sys\s*>>",
        "carries a chat template's role markers to fake a system turn",
    ),
    _rule(
        "addressed_to_model",
        0.8,
        r"\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|llm|language\s+model|assistant"
        r"|chatbot|bot)\b"
        r"|\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?"
        r"(?:ai|llm|language\s+model|assistant|chatbot)s?\b"
        r"|\b(?:ai|llm|language\s+model|assistant|chatbot)s?\s+(?:reading|"
        r"processing|summari[sz]ing)\s+this\b"
        r"|(?:^|[\n.!?]\s*)(?:hey\s+|dear\s+|attention\s+)?(?:assistant|ai|llm"
        r"|chatbot|model)\s*[,:]\s+(?:when|please|you|ignore|always|now|new|from"
        r"|recommend|answer|respond|reply|say)\b"
        r"|\b(?:ai|llm)\s+(?:agents?|assistants?|models?|systems?|bots?)\s+(?:must"
        r"|should|shall|are\s+required\s+to)\b",
        "speaks to the model reading the text: 'if you are an AI, ...'",
    ),
    _rule(
        "task_injection",
        0.5,
        r"\bwhen\s+(?:you\s+)?(?:summari[sz](?:e|ing)|answer(?:ing)?|respond(?:ing)?)"
        r"\s+(?:to\s+)?this\s+(?:page|document|email|text|article|question)\b"
        r"[^.\n]{0,20}\b(?:also|always|instead)\b",
        "slips an extra task into the model's work on the text",
    ),
    _rule(
        "conceal_from_user",
        0.5,
        r"\bdo\s+not\s+(?:tell|inform|alert|mention\s+(?:this|it)\s+to)\s+the\s+user\b"
        r"|\bwithout\s+(?:telling|informing|alerting)\s+the\s+user\b",
        "asks the model to hide what it does from the user",
    ),
)

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_ZERO_WIDTH_IN_WORD = re.compile(rf"[A-Za-z0-9][{_ZERO_WIDTH}]+(?=[A-Za-z0-9])")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_TAG_CHARACTERS = re.compile("[\U000e0000-\U000e007f]+")
_STRIP = str.maketrans("", "", _ZERO_WIDTH)
_INVISIBLE_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden"
    r"|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?\s*(?:;|!|$)"
    r"|opacity\s*:\s*0(?:\.0+)?\s*(?:;|!|$)"
    r"|(?:left|top|text-indent)\s*:\s*-\d{3,}(?:px|em)"
)


@dataclass(frozen=True)
class Assessment:
    """What the detector found: score, flags and the rules that matched."""

    score: float
    flags: tuple[str, ...]
    rules: tuple[str, ...]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_STRIP).lower()


class InjectionDetector:
    """Flags prompt-injection patterns and hidden text; see the module doc."""

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        rules: Sequence[Rule] = RULES,
        base64_min_chars: int = DEFAULT_BASE64_MIN_CHARS,
        hidden_html_min_letters: int = DEFAULT_HIDDEN_HTML_MIN_LETTERS,
        window_chars: int = DEFAULT_WINDOW_CHARS,
    ) -> None:
        if threshold <= 0:
            raise ConfigError(
                f"the injection threshold must be above 0, got {threshold}; "
                f"{DEFAULT_THRESHOLD} flags any one strong rule"
            )
        self.threshold = threshold
        self.rules = tuple(rules)
        self.base64_min_chars = base64_min_chars
        self.hidden_html_min_letters = hidden_html_min_letters
        self.window_chars = window_chars

    def scan(self, text: str, *, html: str | None = None) -> list[str]:
        """The guardrail flags for ``text`` (and its HTML source, if any)."""
        return list(self.assess(text, html=html).flags)

    def assess(self, text: str, *, html: str | None = None) -> Assessment:
        """Score ``text``; ``html`` is the raw source when the document was HTML.

        Extraction drops comments and markup, so hidden HTML is looked for in
        the source, while the instructions rules read the extracted text.
        """
        hidden = False

        # Hidden carriers in the text itself, decoded and read as well.
        decoded: list[str] = []
        tags = _TAG_CHARACTERS.findall(text)
        if tags:
            hidden = True
            decoded += ["".join(chr(ord(c) - 0xE0000) for c in run) for run in tags]
        if _BIDI_CONTROLS.search(text) or len(_ZERO_WIDTH_IN_WORD.findall(text)) >= 2:
            hidden = True
        for blob in self._base64_blobs(text):
            hidden = True
            decoded.append(blob)

        # Each segment (the text, each decoded or hidden part) is scored alone.
        segments = [self._score(text), *(self._score(part) for part in decoded)]
        if html is not None:
            html_segments, html_hidden = self._html(html)
            segments += html_segments
            hidden = hidden or html_hidden

        score = max(segment_score for segment_score, _ in segments)
        matched = set().union(*(names for _, names in segments))
        flags: list[str] = []
        if score >= self.threshold:
            flags.append(PROMPT_INJECTION)
        if hidden:
            flags.append(HIDDEN_TEXT)
        return Assessment(round(score, 3), tuple(flags), tuple(sorted(matched)))

    def _score(self, text: str) -> tuple[float, set[str]]:
        """The best window's score in ``text`` and every rule that matched."""
        folded = _fold(text)
        hits: list[tuple[int, Rule]] = []
        for rule in self.rules:
            for number, match in enumerate(rule.pattern.finditer(folded)):
                if number == _MAX_MATCHES_PER_RULE:
                    break
                hits.append((match.start(), rule))
        hits.sort(key=lambda hit: hit[0])

        best = 0.0
        first = 0
        for last, (position, _) in enumerate(hits):
            while hits[first][0] < position - self.window_chars:
                first += 1
            in_window = {rule.name: rule.weight for _, rule in hits[first : last + 1]}
            best = max(best, sum(in_window.values()))
        return best, {rule.name for _, rule in hits}

    def _base64_blobs(self, text: str) -> list[str]:
        """Decoded text of each long base64 run that decodes to text.

        Binary payloads (images, keys) carry nothing a model would read as
        instructions and are common in ordinary documents, so they pass.
        """
        blobs: list[str] = []
        pattern = re.compile(
            r"[A-Za-z0-9+/]{%d,}={0,2}" % self.base64_min_chars  # noqa: UP031
        )
        for match in pattern.finditer(text):
            start = match.start()
            # Inline images (data: URIs) are binary, not hidden text.
            if text[max(0, start - 7) : start] == "base64,":
                continue
            run = match.group()
            # Identifiers and words run together are not base64: real blobs
            # mix cases and digits.
            if not (re.search(r"\d", run) and re.search(r"[a-z]", run)):
                continue
            if not re.search(r"[A-Z]", run):
                continue
            chunk = run[:8192]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            try:
                decoded = base64.b64decode(chunk, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            printable = sum(ch.isprintable() or ch in "\n\t\r" for ch in decoded)
            if printable >= 0.95 * len(decoded):
                blobs.append(decoded)
        return blobs

    def _html(self, html: str) -> tuple[list[tuple[float, set[str]]], bool]:
        """Scores of comments and invisible elements with rules; hidden or not."""
        soup = BeautifulSoup(html, "html.parser")
        segments: list[tuple[float, set[str]]] = []
        hidden = False

        for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
            score, found = self._score(str(comment))
            if found:
                segments.append((score, found))
                hidden = True

        # Limitation: only inline styles and the hidden attribute are read, not
        # stylesheets or classes (white-on-white, off-screen via CSS classes)
        # until the extractor resolves computed styles.
        for element in soup.find_all(
            lambda tag: (
                tag.has_attr("hidden")
                or bool(_INVISIBLE_STYLE.search(str(tag.get("style", ""))))
            )
        ):
            if element.name in ("script", "style", "template"):
                continue
            inner = element.get_text(" ", strip=True)
            score, found = self._score(inner)
            letters = sum(ch.isalpha() for ch in inner)
            if found or letters >= self.hidden_html_min_letters:
                segments.append((score, found))
                hidden = True
        return segments, hidden
