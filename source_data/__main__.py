"""Command line: ``python -m source_data {fetch,build,student,info}``."""
from __future__ import annotations

import argparse
import sys
import time

from source_data import ag_news, fake_or_real_build, spoken_digits
from source_data.errors import DataError
from source_data.download import fetch_one
from source_data.registry import data_dir, dataset, names
from source_data.secret import describe, hidden_secret
from source_data.student import materialise_student


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m source_data", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_fetch = sub.add_parser("fetch", help="fetch and verify datasets (default: all)")
    p_fetch.add_argument("names", nargs="*", help=f"datasets, among {names()}")
    p_fetch.add_argument("--mirror", help="folder or URL prefix (default: $KIT_DATA_MIRROR, else upstream)")
    p_build = sub.add_parser("build", help="build the corpora made from fetched data (fake_or_real); "
                             "a complete build is verified and left as it is")
    p_build.add_argument("--workers", type=int, help="processes (default: the usable cores, at most 4)")
    p_student = sub.add_parser("student", help="write the student part of every dataset into a folder")
    p_student.add_argument("dest")
    sub.add_parser("info", help="print the registry and the split sizes")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "fetch":
            t0 = time.perf_counter()
            for name in args.names or names():
                print(fetch_one(name, mirror=args.mirror, verbose=True), flush=True)
            print(f"data directory {data_dir()} ready in {time.perf_counter() - t0:.1f} s")
        elif args.cmd == "build":
            t0 = time.perf_counter()
            secret = hidden_secret()
            dest = fake_or_real_build.build(workers=args.workers, secret=secret)
            print(f"fake_or_real: {dest} built and verified in {time.perf_counter() - t0:.1f} s ({describe(secret)})",
                  flush=True)
        elif args.cmd == "student":
            dest = materialise_student(args.dest)
            print(f"student data written to {dest}; students set KIT_DATA_DIR={dest}")
        else:
            for name in names():
                ds = dataset(name)
                print(f"{name}: {ds.title}\n  licence: {ds.licence}\n  cite: {ds.citation}\n  url: {ds.url}")
            for split in ("student", "hidden"):
                print(f"spoken digits {split}: {len(spoken_digits.load_spoken_digits(split))} clips; "
                      f"AG News {split}: {len(ag_news.load_ag_news(split))} rows")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
