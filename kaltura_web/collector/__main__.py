"""``python -m kaltura_web.collector serve|ks|verify`` (same as ``kaltura-web ...``)."""

import argparse
import sys

from . import commands


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaltura_web.collector")
    sub = parser.add_subparsers(dest="cmd", required=True)
    commands.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
