"""``python -m reports RESULTS.json [MORE.json ...] -o OUT.html``: the HTML report, and a summary-<impl>.json
per implementation beside it, from results files."""
from __future__ import annotations

import argparse
import sys

from core.results import IncompatibleResults
from reports import write_all
from reports.html import DETAILS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports",
        description="Write a self-contained HTML report from lossconf results files (.json, or a .jsonl "
        "stream from an interrupted run), and beside it summary-<impl>.json per implementation (conformance "
        "level per loss, for CI badges and dashboards). Several files are merged into one page.",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS.json", help="results file(s): .json or .jsonl")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.html", help="HTML file to write")
    parser.add_argument("--detail", choices=DETAILS, default="summary",
                        help="summary (default): a cell's passing cases as counts and a histogram of their ULP errors, "
                             "its other cases listed; full: every case of every cell listed")
    args = parser.parse_args(argv)
    try:
        written = write_all(args.results, args.output, args.detail)
    except IncompatibleResults as exc:
        print("error: " + " ".join(str(exc).splitlines()), file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
