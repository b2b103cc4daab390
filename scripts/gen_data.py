"""Generate a realistic import file: partners with years of history
(ledger/bulk/sample.py says what each partner does).

Usage:
    python scripts/gen_data.py COMMANDS OUT.jsonl [--years 3] [--seed 1]

The file has no actor fields and no request ids: import it with --actor
(ACTOR) and the ids are derived from the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.bulk.sample import ACTOR, generate, write_jsonl

__all__ = ["ACTOR", "generate", "write_jsonl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("commands", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    partners = write_jsonl(args.out, args.commands, args.years, args.seed)
    print(f"{args.commands} commands for {partners} partners in {args.out}")


if __name__ == "__main__":
    main()
