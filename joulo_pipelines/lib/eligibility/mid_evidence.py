"""What counts as MID evidence in a document's text (DOMAIN.md, "MID evidence"): the markings found, each
with the sentence it stands in and whether it counts.

Counts: the supplementary metrology marking `M` with its two-digit year and the notified body's four-digit
number ("M22 0122"); `MI-003`; accuracy class A, B or C with EN 50470-3 (in one sentence); Directive
2014/32/EU (a declaration of conformity citing it). Never counts, but recorded so a reviewer sees what the
document does claim: the CE mark and the safety/EMC/radio directives behind it, UKCA and the UK Measuring
Instruments Regulations, NTEP / Handbook 44, IEC 62053 classes, Eichrecht / PTB (German calibration law, a
separate regime), and the bare word "MID" (a claim, not a marking). A marking inside a negation ("has no
MID meter", "without MID", "not MID certified") never counts.

The text is what a PDF or OCR gives: line breaks where the layout had them, so sentences are cut at line
ends as well as at full stops. What is found is a proposal; a person accepts or rejects the document
(`joulo mid review`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Marking:
    kind: str  # one of KINDS
    sentence: str  # the sentence it stands in, whitespace collapsed
    counts: bool  # evidence of an integrated MID meter
    negated: bool  # stands inside a negation (then it never counts)

    def as_dict(self) -> dict:
        return asdict(self)


# kind -> (pattern, counts when not negated). Order is the order a reviewer reads them in.
KINDS: dict[str, tuple[re.Pattern, bool]] = {
    # M + two-digit year, then the notified body's four digits ("M22 0122", "M 19 1383").
    "metrology_marking": (re.compile(r"(?<![\w/.-])M\s?(\d{2})\s{0,3}(\d{4})(?![\w/-]|\.\d)"), True),
    "mi_003": (re.compile(r"\bMI[\s-]?003\b", re.I), True),
    "en_50470_3_class": (re.compile(r"\bEN\s?50470-3\b", re.I), True),  # with a class A/B/C beside it
    "mid_directive": (re.compile(r"\b2014\s?/\s?32\s?/\s?(EU|UE|EG|CE)\b", re.I), True),
    "ce_mark": (re.compile(r"(?<!/)\bCE\b(?!\s?/)|\b2014/(30|35|53)/EU\b|\b2011/65/EU\b"), False),
    "ukca": (re.compile(r"\bUKCA\b|\bUK\s+Measuring\s+Instruments\s+Regulations\b|\bS\.?I\.?\s+2016/1153\b",
                        re.I), False),
    "ntep": (re.compile(r"\bNTEP\b|\bHandbook\s+44\b", re.I), False),
    "iec_62053": (re.compile(r"\b(IEC|EN)\s?62053(-\d+)?\b", re.I), False),
    "eichrecht": (re.compile(r"\bEichrecht\w*|\bPTB\b|\bMessEG\b|\bMessEV\b|\bMess-\s?und\s+Eichgesetz\b",
                             re.I), False),
    "mid_claim": (re.compile(r"\bMID\b"), False),
}
_ACCURACY_CLASS = re.compile(r"\b(class|klasse|cl\.)\s*[ABC]\b", re.I)

# A negation word before the marking in its clause, or "not included"-like words right after it.
_NEGATION_BEFORE = re.compile(
    r"\b(no(?![.:])|not|without|non|zonder|geen|niet|ohne|kein\w*|nicht)\b|\bw/o\b", re.I)
_NEGATION_AFTER = re.compile(
    r"^[^,;()]{0,25}?\b(not|niet|nicht)\s+(included|present|fitted|installed|available|aanwezig|inbegrepen|"
    r"enthalten|vorhanden)\b|^\s*[:=]\s*(no|none|nee|geen|nein)\b", re.I)
_CLAUSE_BREAK = re.compile(r"[,;|]|\s[-–]\s|\bbut\b|\bmaar\b|\baber\b|\bwhereas\b", re.I)
# Line ends, and full stops before a capital; "No.", "Nr." (number) and "Cl." (class) do not end one.
_SENTENCE_END = re.compile(r"\s*\n\s*|(?<![Nn]o\.)(?<![Nn]r\.)(?<![Cc]l\.)(?<=[.!?])\s+(?=[A-Z0-9])")


def sentences(text: str) -> list[str]:
    return [" ".join(part.split()) for part in _SENTENCE_END.split(text or "") if part and part.strip()]


def find_markings(text: str) -> list[Marking]:
    """Every marking in the text, in reading order, once per kind, sentence and negation."""
    found: list[Marking] = []
    parts = sentences(text)
    for number, sentence in enumerate(parts):
        for kind, (pattern, evidence) in KINDS.items():
            if kind == "en_50470_3_class" and not _has_accuracy_class(parts, number):
                continue
            if kind == "mid_claim" and _names_a_marking(sentence):
                continue
            for match in pattern.finditer(sentence):
                negated = _is_negated(sentence, match.start(), match.end())
                marking = Marking(kind, sentence, evidence and not negated, negated)
                if marking not in found:
                    found.append(marking)
    return found


def proposes_evidence(markings: list[Marking]) -> bool:
    """Whether the document shows at least one marking that counts: proposed for a person to accept."""
    return any(marking.counts for marking in markings)


def _has_accuracy_class(parts: list[str], number: int) -> bool:
    # A rating plate puts the class and the standard on neighbouring lines ("Cl. B" above "EN 50470-3").
    return any(_ACCURACY_CLASS.search(part) for part in parts[max(number - 1, 0):number + 2])


def _is_negated(sentence: str, start: int, end: int) -> bool:
    before = _CLAUSE_BREAK.split(sentence[:start])[-1]
    return bool(_NEGATION_BEFORE.search(before) or _NEGATION_AFTER.search(sentence[end:]))


def _names_a_marking(sentence: str) -> bool:
    # "MID (Directive 2014/32/EU)" is found as the directive; the word only adds a claim where alone.
    return any(KINDS[kind][0].search(sentence) for kind in ("mid_directive", "mi_003", "metrology_marking"))
