"""Every command the docs show is one the project has, and docs/cli.md is what ``--help`` prints now.

The commands are taken from README.md and docs/*.md (code blocks, line by line, and inline code): every
``spotify-analytics …`` (the console script, also as ``.venv/bin/spotify-analytics``), ``python -m
spotify_analytics …`` (the same CLI), ``docker compose run --rm pipeline …`` (the same CLI in its container),
``python -m bench.workload …``, ``python -m bench.run …`` and ``make …``. A CLI command must name an existing
subcommand path, and the command's parser (click, built from the typer app) must accept its options and
arguments; placeholders (``PATH``, ``NAME``, ``<command>``, ``…``) stand for any value. In inline code a command
may be named without its required parameters (it names the command); in a code block it must be complete. A
``make`` target must exist in the Makefile, and ``BENCH_ARGS`` must parse as ``bench.run``'s arguments.

docs/cli.md is generated from the same parsers: the plain-text ``--help`` of every command (what
``TYPER_USE_RICH=0 spotify-analytics … --help`` prints). The test fails when it differs; run
``UPDATE_DOCS=1 .venv/bin/python -m pytest tests/integration/test_docs_commands.py`` to write it anew.

No lakehouse server is needed: nothing is run, only parsed.
"""

import contextlib
import io
import os
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer import _click

from bench.workload.__main__ import workload_app
from spotify_analytics.cli.main import app

REPO = Path(__file__).resolve().parents[2]
CLI_PAGE = REPO / "docs" / "cli.md"
DOC_FILES = [REPO / "README.md", *sorted(p for p in (REPO / "docs").glob("*.md") if p != CLI_PAGE)]
REGENERATE = "UPDATE_DOCS=1 .venv/bin/python -m pytest tests/integration/test_docs_commands.py"
HELP_WIDTH = 78  # what click wraps plain help at on an 80-column terminal

CLI = "spotify-analytics"  # the console script ([project.scripts]); ``python -m spotify_analytics`` is the same app
PROGRAMS = {
    CLI: app,
    "python -m spotify_analytics": app,
    "python -m bench.workload": workload_app,
}
REFERENCE_PROGRAMS = (CLI, "python -m bench.workload")  # docs/cli.md: the CLI under the name the docs use
PYTHON_COMMAND = re.compile(r"(?:^|\s)(?:\S*/)?python3? -m (spotify_analytics|bench\.workload|bench\.run)(?=\s|$)(.*)")
SCRIPT_COMMAND = re.compile(r"(?:^|\s)(?:\S*/)?spotify-analytics(?=\s|$)(.*)")
COMPOSE_COMMAND = re.compile(r"(?:^|\s)docker compose run --rm pipeline(?=\s|$)(.*)")
MAKE_COMMAND = re.compile(r"^make(?=\s)(.*)")
SHELL_SEPARATOR = re.compile(r"\s(?:&&|\|\||\||;)\s|;\s*$")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^\s*```")
ARROW = re.compile(r"\s[─━-]*[▶→>]\s")


@dataclass(frozen=True)
class DocCommand:
    """One command line of the docs: where it is, the program, and its arguments as written."""

    path: Path
    line: int
    program: str  # "spotify-analytics", "python -m spotify_analytics", "python -m bench.workload|run", "make"
    text: str  # the argument text after the program
    in_code_block: bool

    def __str__(self) -> str:
        shown = self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path
        where = f"{shown}:{self.line}"
        return f"{where}: `{self.program}{self.text.rstrip()}`"


def doc_pieces(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, in a code block) of every code-block line and every inline code span."""
    in_block = False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if FENCE.match(line):
            in_block = not in_block
        elif in_block:
            yield number, line, True
        else:
            for span in INLINE_CODE.findall(line):
                yield number, span, False


def without_comment(line: str) -> str:
    """A shell line without its ``# comment`` (a ``#`` outside quotes, at the start of a word)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def doc_commands(path: Path) -> Iterator[DocCommand]:
    for number, piece, in_block in doc_pieces(path):
        text = ARROW.split(without_comment(piece) if in_block else piece)[0]  # a diagram's arrow ends a command
        for segment in SHELL_SEPARATOR.split(text):
            segment = segment.strip()
            if match := PYTHON_COMMAND.search(segment):
                yield DocCommand(path, number, f"python -m {match[1]}", match[2], in_block)
            elif (match := SCRIPT_COMMAND.search(segment)) or (match := COMPOSE_COMMAND.search(segment)):
                yield DocCommand(path, number, CLI, match[1], in_block)  # the console script, or it in its container
            elif match := MAKE_COMMAND.match(segment):
                yield DocCommand(path, number, "make", match[1], in_block)


ALL_COMMANDS = [command for path in DOC_FILES for command in doc_commands(path)]


def is_placeholder(token: str) -> bool:
    return (
        token in {"…", "..."}
        or re.fullmatch(r"<[^<>]+>", token) is not None
        or re.fullmatch(r"[A-Z][A-Z0-9_]*", token) is not None
    )


def tokens(text: str) -> list[list[str]]:
    """The arguments of a documented command; ``a|b|c`` (alternatives) gives one argument list per alternative."""
    words = []
    for word in shlex.split(text, comments=True):
        word = word.strip("[]")
        if word.endswith("…") and word != "…":
            word = word.removesuffix("…")
        if word:
            words.append(word)
    alternatives = [word.split("|") if "|" in word and not word.startswith("{") else [word] for word in words]
    count = max((len(choices) for choices in alternatives), default=1)
    return [[choices[min(i, len(choices) - 1)] for choices in alternatives] for i in range(count)]


PLACEHOLDER_VALUES = ("1", "0.5", "2026-01-01T00:00:00")  # tried in turn where a placeholder's type refuses it


def placeholders(command: _click.Command, args: list[str]) -> dict[int, _click.Parameter]:
    """Which of the arguments are placeholders, and the parameter each stands for."""
    options = {name: param for param in command.params for name in (*param.opts, *param.secondary_opts)}
    positional = [param for param in command.params if param.param_type_name == "argument"]
    found: dict[int, _click.Parameter] = {}
    expecting: _click.Parameter | None = None
    position = 0
    for index, arg in enumerate(args):
        if expecting is not None:
            if is_placeholder(arg):
                found[index] = expecting
            expecting = None
        elif arg.startswith("-") and arg != "-":
            param = options.get(arg)
            if param is not None and not getattr(param, "is_flag", False):
                expecting = param
        elif positional:
            param = positional[min(position, len(positional) - 1)]
            if is_placeholder(arg):
                found[index] = param
            if param.nargs == 1:
                position += 1
    return found


def parse(command: _click.Command, info_name: str, args: list[str]) -> None:
    """Parse the arguments as the CLI would; a placeholder whose type refuses it is tried with other values."""
    stand_ins = placeholders(command, args)
    args = list(args)
    tried = dict.fromkeys(stand_ins, 0)
    while True:
        try:
            command.make_context(info_name, list(args))
            return
        except _click.exceptions.MissingParameter:
            raise
        except _click.exceptions.BadParameter as error:
            index = next((i for i, param in stand_ins.items() if param is error.param), None)
            if index is None or tried[index] == len(PLACEHOLDER_VALUES):
                raise
            args[index] = PLACEHOLDER_VALUES[tried[index]]
            tried[index] += 1


def cli_problem(program: str, args: list[str], lenient: bool) -> str | None:
    """Why the CLI would not accept ``program args``, or None."""
    command = typer.main.get_command(PROGRAMS[program])
    path = [program]
    args = [arg for arg in args if arg != "--help"]
    while hasattr(command, "commands"):
        if not args:
            return None  # a group named as such (its commands are listed on docs/cli.md)
        name, *args = args
        if is_placeholder(name):
            return None  # "<command>": any of them
        if name not in command.commands:
            return f"{' '.join(path)} has no command {name!r} (it has: {', '.join(command.commands)})"
        command = command.commands[name]
        path.append(name)
    try:
        parse(command, " ".join(path), args)
    except _click.exceptions.MissingParameter as error:
        return None if lenient else f"{' '.join(path)}: {error.format_message()}"
    except _click.exceptions.UsageError as error:
        return f"{' '.join(path)}: {error.format_message()}"
    return None


def make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return {
        target
        for line in text.splitlines()
        if (match := re.match(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", line))
        for target in match[1].split()
    }


def bench_run_problem(args: list[str]) -> str | None:
    from bench import run

    stderr = io.StringIO()
    argv = sys.argv
    sys.argv = ["python -m bench.run", *args]
    try:
        with contextlib.redirect_stderr(stderr):
            run.parse_args()
    except SystemExit as exit_:
        if exit_.code:
            return f"python -m bench.run: {stderr.getvalue().strip().splitlines()[-1]}"
    finally:
        sys.argv = argv
    return None


def make_problem(args: list[str]) -> str | None:
    targets = make_targets()
    for arg in args:
        if arg.startswith("BENCH_ARGS="):
            if problem := bench_run_problem(shlex.split(arg.removeprefix("BENCH_ARGS="))):
                return problem
        elif "=" in arg or arg.startswith("-") or is_placeholder(arg):
            continue
        elif arg not in targets:
            return f"the Makefile has no target {arg!r}"
    return None


def problem(command: DocCommand) -> str | None:
    if command.program == "make":
        # shlex keeps BENCH_ARGS="--runs 3" as one word: BENCH_ARGS=--runs 3
        return make_problem(shlex.split(command.text, comments=True))
    for args in tokens(command.text):
        if command.program == "python -m bench.run":
            found = bench_run_problem(args)
        else:
            found = cli_problem(command.program, args, lenient=not command.in_code_block)
        if found:
            return found
    return None


def test_the_docs_show_commands() -> None:
    """The extraction finds the commands (a guard against a pattern that silently matches nothing)."""
    programs = {command.program for command in ALL_COMMANDS}
    assert programs >= {CLI, "python -m bench.workload", "make"}, programs
    assert len(ALL_COMMANDS) > 50, [str(command) for command in ALL_COMMANDS]


def test_every_documented_command_is_accepted() -> None:
    problems = [f"{command}\n    {found}" for command in ALL_COMMANDS if (found := problem(command))]
    assert not problems, "Commands in the docs that the project does not accept:\n" + "\n".join(problems)


def test_the_checker_refuses_what_the_cli_refuses(tmp_path: Path) -> None:
    """The check itself: a wrong subcommand, option, value or missing argument is caught, with file and line."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "`python -m spotify_analytics import-history`\n"
        "```bash\n"
        ".venv/bin/spotify-analytics server restart\n"
        "python -m spotify_analytics report --output DIR   # a comment\n"
        "spotify-analytics evaluate recommendations --holdout-plays 0\n"
        "python -m spotify_analytics import-history\n"
        "python -m bench.workload generate --users N --plays-per-user M --format extended --out DIR\n"
        'make bench BENCH_ARGS="--runs 3 --only W1,W2" && make deploy\n'
        "make bench BENCH_ARGS=--fast\n"
        "spotify-analytics restore bronze.listening_history_bronze --to-version N\n"
        "```\n"
    )
    found = {command.line: problem(command) for command in doc_commands(doc) if problem(command)}

    assert set(found) == {3, 4, 5, 6, 8, 9}, found
    assert "spotify-analytics server has no command 'restart'" in found[3]
    assert "--output" in found[4]
    assert "--holdout-plays" in found[5]
    assert "paths" in found[6].lower()
    assert "'deploy'" in found[8]
    assert "--fast" in found[9]
    assert str(next(c for c in doc_commands(doc) if c.line == 3)).startswith(f"{doc}:3: ")


def help_sections(
    command: _click.Command, path: list[str], parent: _click.Context | None = None
) -> Iterator[tuple[str, str]]:
    command.rich_markup_mode = None  # click's plain help, as with TYPER_USE_RICH=0 (a fresh object per build)
    context = _click.Context(
        command, info_name=path[-1], parent=parent, terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH
    )
    yield " ".join(path), command.get_help(context)
    for name, sub in getattr(command, "commands", {}).items():
        yield from help_sections(sub, [*path, name], context)


def cli_reference() -> str:
    """docs/cli.md: the --help of every command, in the order the CLI lists them."""
    parts = [
        "# Command reference",
        "",
        "Every command's `--help`, as plain text (what `TYPER_USE_RICH=0 spotify-analytics … --help`",
        "prints). Generated by `tests/integration/test_docs_commands.py`, which fails when this page differs from",
        f"the commands; do not edit it, regenerate it: `{REGENERATE}`.",
        "What the commands are for: [ingesting.md](ingesting.md), [operations.md](operations.md),",
        "[quality.md](quality.md), [study.md](study.md), [study-workflow.md](study-workflow.md),",
        "[benchmarks.md](benchmarks.md).",
    ]
    for program in REFERENCE_PROGRAMS:
        for title, text in help_sections(typer.main.get_command(PROGRAMS[program]), [program]):
            parts += ["", f"## `{title}`", "", "```", text.rstrip(), "```"]
    return "\n".join(parts) + "\n"


def test_cli_reference_is_current() -> None:
    expected = cli_reference()
    if os.environ.get("UPDATE_DOCS") == "1":
        CLI_PAGE.write_text(expected)
    current = CLI_PAGE.read_text() if CLI_PAGE.is_file() else ""
    if current != expected:
        pytest.fail(f"{CLI_PAGE.relative_to(REPO)} differs from what --help prints now; regenerate it: {REGENERATE}")
