"""The fuzz test (tests/fuzz.py): 2,000 seeded in-process invocations of the
command line with malformed arguments and import files; none may crash, exit
with anything but 0, 1 or 2, print a traceback, or write anything when it
exits non-zero. LEDGER_FUZZ_SEED and LEDGER_FUZZ_N choose another run."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fuzz import fuzz

SEED = int(os.environ.get("LEDGER_FUZZ_SEED", "12"))
COUNT = int(os.environ.get("LEDGER_FUZZ_N", "2000"))


def test_no_malformed_invocation_crashes_or_writes_when_refused(
    db_url: str, tmp_path: Path
) -> None:
    fuzzer = fuzz(db_url, SEED, COUNT, tmp_path)
    assert fuzzer.invocations >= COUNT
    findings = "\n".join(str(f) for f in fuzzer.findings[:20])
    assert not fuzzer.findings, f"{len(fuzzer.findings)} findings:\n{findings}"
    assert set(fuzzer.exits) <= {0, 1, 2}
