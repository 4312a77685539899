"""The shipped TWS troubleshooting corpus and its lookups."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge.codes import (
    CodeEntry,
    CorpusError,
    corpus,
    explain_codes,
    load_corpus,
    lookup_code,
    lookup_error_pattern,
)

TABLE_CODES = [
    "AWSJPL017E", "AWSJPL018E", "AWSJPL006E", "AWSJPL704E", "AWSJPL526W", "AWSBEH023E",
    "AWSBEH021E", "AWSBHT001E", "AWSBDW002E", "AWSBDX001E", "AWSJDB201E", "AWSJDB101E",
    "AWSRES003E", "AWSBHU152E", "AWSBIN076E", "AWSBIO006E", "AWSJCO032E", "AWSBHU001E",
    "AWSBCU035E",
]  # fmt: skip

STDLIST = """\
===============================================================
= JOB       : MASTER#PAYROLL[(0600 06/12/25),(0AAAAAAAAAAAAB2C)].PAYROLL_EXTRACT
= USER      : twsuser
= JCLFILE   : /opt/apps/payroll/extract.sh
= Job Number: 41523
= Thu 06/12/25 06:00:02 CEST
===============================================================
AWSBHT001E The job "MASTER#PAYROLL.PAYROLL_EXTRACT" failed to launch: the stdlist directory cannot be opened.
Retrying the action on the job
AWSBIN076E The action "rerun" is not valid for the job in its current state.
AWSBHT001E The job "MASTER#PAYROLL.PAYROLL_EXTRACT" failed to launch.
AWSZZZ999E Something nobody has documented.
===============================================================
= Exit Status           : 1
= Elapsed Time (hh:mm:ss) : 00:00:01
= Job CPU usage (user) : 0.01
===============================================================
"""


def test_every_table_code_is_shipped() -> None:
    shipped = {entry.code for entry in corpus().codes}
    assert set(TABLE_CODES) <= shipped


def test_entries_are_well_formed() -> None:
    for entry in corpus().codes:
        assert entry.severity == {"E": "error", "W": "warning", "I": "info"}[entry.code[-1]]
        assert entry.meaning.endswith(".")
        assert entry.action.endswith(".")
        assert entry.source.startswith("HCL Workload Automation documentation")
    assert lookup_code("AWSJPL526W") is not None
    assert lookup_code("AWSJPL526W").severity == "warning"  # type: ignore[union-attr]


def test_lookup_is_case_insensitive() -> None:
    entry = lookup_code("awsbht001e")
    assert isinstance(entry, CodeEntry)
    assert entry.code == "AWSBHT001E"
    assert lookup_code(" AWSbin076E ") == lookup_code("AWSBIN076E")
    assert lookup_code("AWSZZZ999E") is None


def test_explain_codes_on_a_stdlist() -> None:
    found = explain_codes(STDLIST)
    assert [entry.code for entry in found] == ["AWSBHT001E", "AWSBIN076E"]
    assert "launch" in found[0].meaning


def test_explain_codes_ignores_unknown_and_finds_lower_case() -> None:
    assert explain_codes("AWSZZZ999E and AWSABC123W") == []
    assert explain_codes("") == []
    assert [e.code for e in explain_codes("error awsbeh023e then")] == ["AWSBEH023E"]


def test_split_rows_become_two_entries() -> None:
    locked, missing = lookup_code("AWSJDB201E"), lookup_code("AWSJDB101E")
    assert locked is not None
    assert missing is not None
    assert "locked" in locked.meaning
    assert "not found" in missing.meaning


def test_specific_oracle_pattern_comes_first() -> None:
    log = "ORA-06512: at line 12\nORA-01555: snapshot too old: rollback segment number 9\n"
    names = [p.name for p in lookup_error_pattern(log)]
    assert names.index("Oracle snapshot too old (ORA-01555)") < names.index("Oracle error")
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("cp: error writing '/data/out.csv': No space left on device", "Disk full"),
        ("/opt/apps/run.sh: line 4: /var/log/app.log: Permission denied", "Permission denied"),
        (
            'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
            "Java out of memory",
        ),
        ("curl: (7) Failed to connect to db01 port 5432: Connection refused", "Connection refused"),
        ("/opt/apps/run.sh: line 9: 12345 Killed  ./transform", "Process killed (signal 9)"),
        ("run.sh: line 3: sqlplus: command not found", "Command not found"),
        ("ERROR: operation timed out after 300 s", "Timeout"),
        ("ERROR: deadlock detected", "Deadlock"),
        ("the jobs are stuck in HOLD since 06:00", "Jobs stuck in HOLD or READY"),
    ],
)
def test_patterns_match_typical_lines(line: str, name: str) -> None:
    matched = lookup_error_pattern(line)
    assert name in [p.name for p in matched]
    pattern = next(p for p in matched if p.name == name)
    assert pattern.matches(line)
    assert pattern.meaning.endswith(".")


def test_java_oom_before_generic_oom() -> None:
    names = [p.name for p in lookup_error_pattern("java.lang.OutOfMemoryError: GC overhead")]
    assert names[:2] == ["Java out of memory", "Out of memory"]


def test_clean_log_matches_nothing() -> None:
    assert lookup_error_pattern("Extract finished: 1200 rows written.\nExit Status : 0") == []
    assert explain_codes("Extract finished: 1200 rows written.") == []


def _write(directory: Path, codes: str, patterns: str) -> Path:
    (directory / "codes.yaml").write_text(textwrap.dedent(codes), encoding="utf-8")
    (directory / "patterns.yaml").write_text(textwrap.dedent(patterns), encoding="utf-8")
    return directory


_GOOD_CODES = """\
    entries:
      - code: AWSABC001E
        severity: error
        meaning: Something broke.
        action: Fix it.
        source: test
"""
_GOOD_PATTERNS = """\
    patterns:
      - name: Boom
        regex: 'boom'
        meaning: It went boom.
        action: Stop it.
        source: test
"""


def test_load_corpus_from_a_directory(tmp_path: Path) -> None:
    loaded = load_corpus(_write(tmp_path, _GOOD_CODES, _GOOD_PATTERNS))
    assert [e.code for e in loaded.codes] == ["AWSABC001E"]
    assert loaded.code("awsabc001e") is not None
    assert loaded.patterns[0].matches("BOOM!")


@pytest.mark.parametrize(
    ("codes", "patterns", "message"),
    [
        (
            _GOOD_CODES.replace("        action: Fix it.\n", ""),
            _GOOD_PATTERNS,
            "entry 1 (AWSABC001E): missing action",
        ),
        (
            _GOOD_CODES.replace("severity: error", "severity: warning"),
            _GOOD_PATTERNS,
            "severity must be 'error'",
        ),
        (_GOOD_CODES.replace("AWSABC001E", "AWS-1"), _GOOD_PATTERNS, "code must look like"),
        (_GOOD_CODES.replace("Fix it.", "Fix it"), _GOOD_PATTERNS, "'action' must be one sentence"),
        (
            _GOOD_CODES,
            _GOOD_PATTERNS.replace("'boom'", "'boo(m'"),
            "pattern 1 (Boom): invalid regex",
        ),
        (
            _GOOD_CODES,
            _GOOD_PATTERNS.replace("source: test", "source: test\n        colour: red"),
            "unknown field(s) colour",
        ),
        (
            _GOOD_CODES,
            _GOOD_PATTERNS.replace("source: test", "source: test\n        refines: Nope"),
            "refines unknown pattern 'Nope'",
        ),
        ("entries: [", _GOOD_PATTERNS, "not valid YAML"),
        ("items: []", _GOOD_PATTERNS, "list under 'entries'"),
    ],
)
def test_broken_corpus_names_file_and_entry(
    tmp_path: Path, codes: str, patterns: str, message: str
) -> None:
    _write(tmp_path, codes, patterns)
    with pytest.raises(CorpusError) as caught:
        load_corpus(tmp_path)
    assert message in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "codes.yaml").write_text(textwrap.dedent(_GOOD_CODES), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"patterns\.yaml: file not found"):
        load_corpus(tmp_path)
