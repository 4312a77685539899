"""The parser's words: what may be a TWS name, what never is, and plain-English clean-up.

`agents.understand` finds a question's subject by shape (``PAYROLL_EXTRACT``, ``AGT_LNX01``,
``PAY*``) or by where it stands ("status of payroll"). A word that only looks like a name —
an ops acronym (``SLA``, ``ETA``), a time (``10PM``, ``22:00``), a contraction's remains
(``ISN`` of "isn't"), a shouted English word (``ANOMALIES``) — must never become a subject:
the answer would then be about a job nobody asked for. The lists here say which words are
never names; `normalise` turns contractions into plain words before any rule reads them.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "NAME_TOKEN",
    "STOPWORDS",
    "clean_name",
    "has_name_shape",
    "is_name",
    "is_time_word",
    "normalise",
]

NAME_TOKEN: Final = re.compile(r"[A-Za-z0-9_#.*@$\-]+")
_NAME_SHAPE: Final = re.compile(r"^[A-Za-z0-9_#.*@$\-]*[_#*@0-9][A-Za-z0-9_#.*@$\-]*$")

# Words that look like names by shape but are not, or carry the sentence's meaning.
STOPWORDS: Final = frozenset(
    """
    a about abend abended abends after all an and any anything are as at be been before
    blocked by can cancelled canceled check could depend depends dependents did do does
    done down downstream error errors explain fail failed failing fails failure for from
    get give has have held help hold how i in is it its job jobs jobstream jobstreams
    late list log me my now of on or please predecessors risk running show state status
    stream streams stuck successors tell that the their them there these this to today
    tonight up upstream wait waiting waits was were what whats what's when where which
    who why will with workstation workstations you your succeeded completed finished
    ended executing pending ready schedule scheduled plan happened wrong going ok the
    tws resync about again also now yet still currently last night deadline deadlines
    miss missed behind over due agents agent cpu cpus machines servers linked unlinked
    affected impact impacted upstream downstream waits blocking blocks block is are
    not no never nothing none isn aren wasn weren won wouldn hasn haven hadn didn doesn
    don can't cannot couldn shouldn t s d ll re ve m
    sla slas eta etas kpi kpis ola olas rpo rto breach breaches breached anomaly anomalies
    unusual abnormal outlier outliers incident incidents alert alerts issue issues problem
    problems sev sev1 sev2 sev3 sev4 p1 p2 p3 p4 am pm utc gmt cet cest est edt pst pdt
    hour hours hr hrs minute minutes min mins second seconds sec secs midnight noon
    morning evening afternoon yesterday tomorrow week day days ago since until till
    change changes changed new many much count number total totals mean means meaning
    fix fixes fixing solve resolve troubleshoot runbook runbooks docs doc documentation
    say says said code codes message messages start started starting begin run runs
    rerun reruns finish finishes finishing end ends complete completes expected
    estimate estimated started be being been doing going gone get got so too very
    just only still some every each other another more most less least than then
    hi hello hey thanks thank cheers bye goodbye good great nice cool please
    yes yeah yep nope sure okay ok fine right left everything something someone anyone
    thing things stuff way time times moment right now why's where's how's who's
    quick quickly summary overview report update updates news info information
    ready queued held releases released release holds holding
    clear cleared fine healthy health normal usual usually typical typically
    should would could might may must shall we us our ours they he she him her his
    one two three four five six seven eight nine ten first second third next previous
    whole entire full overall across between under within without into onto off out
    batch night tonight's today's shift handover
    overdue delayed delay delays slow slower slowly fast faster late later early earlier
    unfinished outstanding remaining remain left open opened closed happening happen
    happens going gonna wanna want wants need needs needed like look looks looking see
    seen saw know known think thought seem seems seemed working work works worked
    broken fixed wrong okay alive dead up down online offline available unavailable
    going-on stopped stop stops hung hanging frozen slowing waiting-for blocked-by
    big small long short high low bad worse worst better best fine new old same
    different usual unusual normal abnormal strange weird odd really actually maybe
    probably definitely already ever even almost about around approximately
    tell show give list find explain describe summarise summarize summary check
    any anyone anybody anywhere somewhere everywhere nowhere here there where
    today yesterday tonight tomorrow currently recent recently latest last first
    happened occurred occur went gone came come comes coming took take takes taking
    make makes made making let lets put puts set sets keep keeps kept try tries tried
    said say saying ask asked asking answer answers question questions
    lot lots bit little few several enough many much more most all both either neither
    stopping holding delaying keeping past missing pls plz thx fire urgent advise asap
    needful thingy thing stuff vibe deal box blah hmm reach reachable unreachable then
    left remaining remains progress doing hold-up holdup holdups hold-ups matter
    comes come after before follows follow precede precedes who whom whose
    cause causes caused causing culprit bomb bombed bombs died dying
    """.split()
)

_TIME_WORD: Final = re.compile(
    r"^(?:\d{1,2}(?:[:.h]\d{2})?\s*(?:am|pm|h|hrs?|hours?|utc|z)?|\d+(?:s|m|h|d|min|mins|sec|secs))$",
    re.I,
)
# Message codes and log symptoms are looked up in the corpus, never in the plan.
_CODE_WORD: Final = re.compile(r"^(?:AWS[A-Z]{3}\d{3}[EWI]|ORA-\d{5}|SQL\d{4,5}[NWC])$", re.I)
_CONTRACTIONS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"\bwon['’]t\b", re.I), "will not"),
    (re.compile(r"\bcan['’]t\b", re.I), "cannot"),
    (re.compile(r"\bain['’]t\b", re.I), "is not"),
    (re.compile(r"\b(\w+)n['’]t\b", re.I), r"\1 not"),
    (re.compile(r"\b(what|where|how|who|why|when|that|there|it|here)['’]s\b", re.I), r"\1 is"),
    (re.compile(r"\b(\w+)['’](?:re)\b", re.I), r"\1 are"),
    (re.compile(r"\b(\w+)['’](?:ll)\b", re.I), r"\1 will"),
    (re.compile(r"\b(\w+)['’](?:ve)\b", re.I), r"\1 have"),
    (re.compile(r"\b(\w+)['’]d\b", re.I), r"\1 did"),
    (re.compile(r"\bi['’]m\b", re.I), "i am"),
    # A possessive ("GL_CLOSE's deadline") names GL_CLOSE.
    (re.compile(r"\b([A-Za-z0-9_#.*@$\-]+)['’]s\b"), r"\1"),
)


def normalise(text: str) -> str:
    """Spell contractions out ("isn't" → "is not", "what's" → "what is") and drop possessives.

    Args:
        text: The message.

    Returns:
        The message with plain words; names and everything else unchanged.
    """
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def is_time_word(token: str) -> bool:
    """True for a time or a span: ``22:00``, ``10PM``, ``9am``, ``1h``, ``30m``, ``22``.

    Args:
        token: One word.

    Returns:
        Whether it reads as a time, never as a name.
    """
    return bool(_TIME_WORD.match(token.strip(".,;:!?'\"()[]{}")))


def has_name_shape(token: str) -> bool:
    """True when a word is shaped like a TWS name: ``_``, ``#``, a digit or a wildcard in it.

    Args:
        token: One word.

    Returns:
        Whether its shape alone says it is a name.
    """
    return bool(_NAME_SHAPE.match(token.strip(".,;:!?'\"()[]{}")))


def clean_name(token: str) -> str:
    """The name as the engine knows it: punctuation stripped, ``@`` as ``*``, upper case.

    Args:
        token: A word taken as a name.

    Returns:
        The name.
    """
    token = token.strip(".,;:!?'\"()[]{}").replace("@", "*")
    return token.upper()


def is_name(token: str, *, strict: bool) -> bool:
    """Whether a word may be a TWS name.

    Args:
        token: One word.
        strict: True when only its shape speaks for it (no "status of" before it): then
            only names with ``_``, ``#``, a digit or a wildcard, or upper-case words of
            three letters or more, count.

    Returns:
        True when it may be a name; never for stop words, ops acronyms, times or message
        codes (``AWSBHT001E``, ``ORA-01555``).
    """
    cleaned = token.strip(".,;:!?'\"()[]{}")
    lowered = cleaned.lower()
    if not cleaned or lowered in STOPWORDS or lowered.rstrip("s") in STOPWORDS:
        return False
    if is_time_word(cleaned) or cleaned.strip("-") == "" or set(cleaned) <= set("*@."):
        return False
    if _CODE_WORD.match(cleaned):
        return False
    if _NAME_SHAPE.match(cleaned):
        return True
    if strict:
        # By shape alone only upper-case words count: "PAYROLL" yes, "payroll" no.
        return cleaned.isupper() and len(cleaned) >= 3
    return len(cleaned) >= 2
