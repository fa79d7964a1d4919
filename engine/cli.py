"""The ``zicht`` command line: parses arguments and calls the pipeline, nothing more.

Exit codes (see :mod:`zicht.errors`): 0 ok, 1 internal error, 2 bad input (one
line naming the file, layer, column, key or code at fault), 3 disclosure control or
the audit found a disclosure problem. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zicht import __version__
from zicht.errors import BoundaryError, ConfigError, OutputError, ZichtError, quoted

# The stages (and the numeric libraries under them: pandas, geopandas, scikit-learn,
# HiGHS) are imported by the command that needs them, so that ``zicht --help`` and a
# mistyped command answer at once.

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_DISCLOSURE = 0, 1, 2, 3
EXIT_SUSPECT = 1  # boundaries check: usable, with suspect areas

log = logging.getLogger("zicht")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.quiet, args.log_json)
    try:
        return int(args.handler(args) or 0)
    except ZichtError as exc:
        if args.debug:
            raise
        return _error(args, f"{exc}", exc.exit_code)
    except FileNotFoundError as exc:
        if args.debug:
            raise
        return _error(args, f"{exc.filename}: file not found", EXIT_INPUT)
    except KeyboardInterrupt:
        return _error(args, "interrupted; no output was written", 130)
    except Exception as exc:  # the last line of defence: no traceback for users
        if args.debug:
            raise
        return _error(
            args,
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            EXIT_INTERNAL,
        )


def _error(args: argparse.Namespace, message: str, code: int) -> int:
    """One line on stderr: plain text, or a JSON object with --log-json."""
    if args.log_json:
        print(
            json.dumps(
                {"level": "error", "logger": "zicht", "message": message, "exit_code": code},
                ensure_ascii=False,
            ),
            file=sys.stderr,
        )
    else:
        print(f"zicht: error: {message}", file=sys.stderr)
    return code


FLAGS = {
    "--quiet": "only print warnings and errors",
    "--debug": "show tracebacks",
    "--log-json": "log as JSON lines on stderr (for machines)",
}


def _parser() -> argparse.ArgumentParser:
    # The flags work before and after the sub-command: the sub-commands' copies
    # default to SUPPRESS so they do not overwrite a flag given earlier.
    top = argparse.ArgumentParser(add_help=False)
    common = argparse.ArgumentParser(add_help=False)
    for flag, text in FLAGS.items():
        top.add_argument(flag, action="store_true", help=text)
        common.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=text)
    parser = argparse.ArgumentParser(
        prog="zicht",
        parents=[top],
        description="Geospatial risk scoring per buurt, wijk and gemeente, "
        "with disclosure control.",
    )
    parser.add_argument("--version", action="version", version=f"zicht {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _pipeline_commands(sub, common)
    _tool_commands(sub, common)
    return parser


def _pipeline_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """``run``, ``demo`` and the commands that read a published output."""
    p = sub.add_parser("run", parents=[common], help="run the pipeline for a TOML config")
    p.add_argument("config", type=Path)
    _output_arguments(p)
    p.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="only these areas: gemeente, wijk or buurt codes or province names, "
        "comma-separated or repeated (replaces [boundaries] select)",
    )
    p.set_defaults(handler=_run)

    p = sub.add_parser(
        "demo", parents=[common], help="run the pipeline on the embedded Amsterdam data"
    )
    _output_arguments(p)
    p.set_defaults(handler=_demo)

    p = sub.add_parser(
        "hotspots", parents=[common], help="print the ranked hotspot list of a published output"
    )
    p.add_argument("dir", type=Path)
    p.add_argument("--theme", required=True, help="a theme's id or name, e.g. drugs")
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--level", default="buurt", choices=("buurt", "wijk", "gemeente"))
    p.set_defaults(handler=_hotspots)

    p = sub.add_parser(
        "branches",
        parents=[common],
        help="print the branche table of an area from a published output",
    )
    p.add_argument("dir", type=Path)
    p.add_argument("--code", required=True, help="a gemeente, wijk or buurt code, e.g. GM0363")
    p.add_argument("--sbi", help="only this SBI node and the nodes below it, e.g. 96 or G")
    p.set_defaults(handler=_branches)

    p = sub.add_parser(
        "view",
        parents=[common],
        help="open the dashboard of a published output in the default browser",
    )
    p.add_argument("dir", type=Path)
    p.set_defaults(handler=_view)

    _audit_command(sub, common)


def _audit_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """``audit DIR [--exact] [--with OTHER_DIR ...]``."""
    p = sub.add_parser(
        "audit",
        parents=[common],
        help="audit a published output: can a withheld value be recovered? (exit code 3 if so)",
    )
    p.add_argument("dir", type=Path)
    p.add_argument(
        "--exact",
        action="store_true",
        help="let the attacker's linear programs decide every withheld cell, the branche "
        "table's too (slower) instead of propagation",
    )
    p.add_argument(
        "--with",
        dest="others",
        type=Path,
        nargs="+",
        default=[],
        metavar="OTHER_DIR",
        help="audit these outputs jointly with DIR, as an attacker who reads all of them "
        "(other selections, levels or editions of the same sources)",
    )
    p.set_defaults(handler=_audit)


def _output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--private-reasons",
        type=Path,
        metavar="PATH",
        help="also write the rule of every withheld cell to PATH (CSV), outside the output "
        "directory: for the data steward only, never to be published",
    )
    p.add_argument(
        "--ledger",
        type=Path,
        metavar="PATH",
        help="the release ledger (a folder outside the output directory; it holds true "
        "values): publish a matching release's protected master, or protect jointly with "
        "what it holds and record the release (default: [release] ledger)",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads for the numeric libraries (default: [run] threads, or the cores "
        "free to this run)",
    )
    p.add_argument("--no-cache", action="store_true", help="no boundary cache ([run] cache)")


def _tool_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """``config schema|check``, ``synthetic`` and the ``boundaries`` tools."""
    p = sub.add_parser("config", parents=[common], help="configuration tools")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser(
        "schema", parents=[common], help="print the JSON Schema of the TOML config (for editors)"
    )
    c.set_defaults(handler=_config_schema)
    c = csub.add_parser("check", parents=[common], help="validate a TOML config and report")
    c.add_argument("config", type=Path)
    c.set_defaults(handler=_config_check)

    p = sub.add_parser(
        "synthetic",
        parents=[common],
        help="write a config's SYNTHETIC microdata as partitioned Parquet",
    )
    p.add_argument("config", type=Path, nargs="?", help="a TOML config (default: the demo's)")
    p.add_argument("--out", type=Path, required=True, help="a folder that does not exist yet")
    p.add_argument(
        "--records",
        type=int,
        help="about how many records in all (default: those of one run of the config)",
    )
    p.add_argument(
        "--partition-rows",
        type=int,
        default=1_000_000,
        help="at most this many records per file (default: 1000000)",
    )
    p.set_defaults(handler=_synthetic)

    _boundaries_commands(sub, common)


def _boundaries_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """``boundaries check`` and ``boundaries interpolate``."""
    p = sub.add_parser("boundaries", parents=[common], help="boundary file tools")
    bsub = p.add_subparsers(dest="boundaries_command", required=True)
    c = bsub.add_parser("check", parents=[common], help="check a boundary file and report")
    c.add_argument("path", type=Path)
    c.add_argument("--layer")
    c.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="map a field (code, naam, wijkcode, gemeentecode, water, ...) to a column",
    )
    c.add_argument("--keep-water", action="store_true", help="keep water-only areas")
    c.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="check only these areas: gemeente, wijk or buurt codes or province names, "
        "comma-separated or repeated",
    )
    c.set_defaults(handler=_boundaries_check)
    c = bsub.add_parser(
        "interpolate",
        parents=[common],
        help="move a table's figures from one boundary year to another (estimates)",
    )
    c.add_argument("table", type=Path, help="the table, keyed on the codes of --from")
    c.add_argument("--key", required=True, help="the table's code column")
    c.add_argument("--from", dest="old", type=Path, required=True, help="its boundary file")
    c.add_argument("--to", dest="new", type=Path, required=True, help="the boundaries to move to")
    c.add_argument("--out", type=Path, required=True, help="the CSV to write (;)")
    c.add_argument("--count", action="append", default=[], metavar="COLUMN", help="a count or sum")
    c.add_argument(
        "--mean",
        action="append",
        default=[],
        metavar="COLUMN=DENOMINATOR",
        help="a mean or share, moved with its denominator (a count column of the table)",
    )
    c.add_argument(
        "--weight",
        metavar="COLUMN",
        help="a count of the --to file's areas (inhabitants, addresses): the old figures go "
        "where it is (default: by area)",
    )
    c.add_argument("--to-key", default="buurtcode", help="the --to file's code column")
    c.set_defaults(handler=_boundaries_interpolate)


class JsonFormatter(logging.Formatter):
    """One JSON object per log record: time, level, message."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def _configure_logging(quiet: bool, log_json: bool = False) -> None:
    if log_json:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif sys.stderr.isatty():
        # a person is watching: rich shows stages with times and colours
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, markup=False, log_time_format="%H:%M:%S")
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    warnings_log = logging.getLogger("py.warnings")
    warnings_log.handlers[:] = [handler]
    warnings_log.propagate = False


def _run(args: argparse.Namespace) -> int:
    from zicht.engine.config import load_config
    from zicht.engine.pipeline import run

    config = load_config(args.config)
    if args.select:
        config = config.with_selection(_codes(args.select))
    config = config.with_cache(False) if args.no_cache else config
    run(config, args.out, args.private_reasons, args.threads, args.ledger)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from zicht.engine.config import load_config
    from zicht.engine.data import DEMO_CONFIG
    from zicht.engine.pipeline import run

    config = load_config(DEMO_CONFIG)  # its boundary cache: only one ZICHT_CACHE_DIR names
    config = config.with_cache(not args.no_cache and "ZICHT_CACHE_DIR" in os.environ)
    run(config, args.out, args.private_reasons, args.threads, args.ledger)
    return 0


def _codes(select: list[str] | None) -> tuple[str, ...]:
    """The codes of ``--select`` options, comma-separated or repeated."""
    return tuple(c.strip() for part in select or () for c in part.split(",") if c.strip())


def _hotspots(args: argparse.Namespace) -> int:
    from zicht.engine.outputs.lists import format_for_terminal, read_list

    path = args.dir / "hotspots.csv"
    if not path.exists():
        raise OutputError(f"{path}: not found; is {args.dir} a zicht output directory?")
    table, language = read_list(path)
    themes = dict(zip(table["thema_code"], table["thema"], strict=True))
    wanted = args.theme.lower()
    if not any(wanted in (str(code).lower(), str(name).lower()) for code, name in themes.items()):
        valid = ", ".join(f"{code} ({name})" for code, name in themes.items())
        raise ConfigError(
            f"--theme {quoted(args.theme)} is not a theme of {path}; the themes: {valid}"
        )
    print(format_for_terminal(table, args.theme, args.top, args.level, language))
    return 0


def _branches(args: argparse.Namespace) -> int:
    from zicht.engine.outputs.branches import format_for_terminal, read_branches

    table, language = read_branches(args.dir)
    print(format_for_terminal(table, args.code, args.sbi, language))
    return 0


def _view(args: argparse.Namespace) -> int:
    page = Path(args.dir) / "dashboard.html"
    if not page.is_file():
        raise OutputError(f"{args.dir}: no dashboard.html; is this a zicht output directory?")
    # only where a graphical browser can open: on a bare server the standard library
    # would start a text browser (lynx, w3m) in the terminal instead
    graphical = any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"))
    opened = False
    if graphical or sys.platform in ("darwin", "win32"):
        opened = webbrowser.open(page.resolve().as_uri())
    print(f"dashboard: {page.resolve()}" + ("" if opened else " (open it in a browser)"))
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    from zicht.engine.outputs.verify import audit_directory

    report = audit_directory(args.dir, exact=args.exact, others=args.others)
    if args.others:
        print(f"jointly: {', '.join(str(p) for p in [args.dir, *args.others])}")
    print("attacker model: one who")
    print("\n".join(f"  - {line}" for line in report.model))
    print(f"audited {report.cells_checked:,} sensitive cells, {report.withheld:,} withheld")
    for problem in report.problems:
        print(f"  FAIL {problem}")
    print(
        "OK: no withheld value can be recovered"
        if report.ok
        else f"FAILED: {len(report.problems)} problem(s)"
    )
    return EXIT_OK if report.ok else EXIT_DISCLOSURE


def _config_schema(args: argparse.Namespace) -> int:
    from zicht.engine.config import config_schema

    print(json.dumps(config_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def _config_check(args: argparse.Namespace) -> int:
    from zicht.engine.config import load_config

    config = load_config(args.config)
    print(
        f"{args.config}: OK ({len(config.indicators)} indicators, {len(config.tables)} "
        f"tables, {len(config.microdata)} microdata sources, {len(config.rasters)} rasters)"
    )
    return EXIT_OK


def _synthetic(args: argparse.Namespace) -> int:
    from zicht.engine.config import load_config
    from zicht.engine.data import DEMO_CONFIG
    from zicht.engine.indicators import write_synthetic_sources

    if args.records is not None and args.records < 1:
        raise ConfigError(f"--records must be at least 1, got {args.records}")
    if args.partition_rows < 1:
        raise ConfigError(f"--partition-rows must be at least 1, got {args.partition_rows}")
    config = load_config(args.config or DEMO_CONFIG)
    written = write_synthetic_sources(config, args.out, args.records, args.partition_rows)
    for source in written:
        log.info("%s: %d SYNTHETIC records in %d file(s)", source.id, source.records, source.files)
    print(f"{args.out}: {sum(w.records for w in written)} SYNTHETIC records; see microdata.toml")
    return 0


def _boundaries_check(args: argparse.Namespace) -> int:
    from zicht.engine.outputs.boundary_report import check_boundaries

    columns = {}
    for item in args.column:
        name, sep, column = item.partition("=")
        if not sep or not name or not column:
            raise ConfigError(f"--column {item!r}: expected FIELD=COLUMN")
        columns[name] = column
    try:
        lines, clean = check_boundaries(
            args.path,
            args.layer,
            columns or None,
            drop_water=not args.keep_water,
            select=_codes(args.select),
        )
    except BoundaryError as exc:
        if not exc.problems:
            raise
        print(f"{args.path}: NOT USABLE, {len(exc.problems)} problem(s):")
        print("\n".join(f"  - {problem}" for problem in exc.problems))
        return EXIT_INPUT
    print("\n".join(lines))
    return EXIT_OK if clean else EXIT_SUSPECT


def _boundaries_interpolate(args: argparse.Namespace) -> int:
    from zicht.engine.sources.interpolated import MoveRequest, move_table_file

    means = dict(item.partition("=")[::2] for item in args.mean)
    if any(not c or not d for c, d in means.items()):
        raise ConfigError(f"--mean {args.mean}: expected COLUMN=DENOMINATOR")
    request = MoveRequest(
        args.table,
        args.key,
        args.old,
        args.new,
        tuple(args.count),
        means,
        args.weight,
        new_key=args.to_key,
    )
    moved = move_table_file(request, args.out)
    print(f"{args.out}: estimates; {moved.describe()}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
