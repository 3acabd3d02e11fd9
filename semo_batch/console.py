"""How the command line talks to its user: exit codes and one-line errors.

Every error, a usage error included, is one line on stderr that starts with
``semo-batch: error:`` and names the input and the problem; no boxes, no
tracebacks.  The exit codes (documented in the README):

====  ===========================================================================
0     done
1     a runtime error (a full disk, a locked store, ``--strict`` meeting a bad file)
2     a usage error, or a missing or unusable input (folder, file, store, model);
      checked before any model is loaded or any work starts
3     done, but some files failed (each recorded, and named on stderr)
4     nothing to do: the inputs hold no audio file (a warning says so)
130   interrupted (Ctrl-C); what was finished is kept
====  ===========================================================================
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import typer
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from .errors import (
    ConfigError,
    Interrupted,
    ModelError,
    SemoError,
    StoreError,
    StoreLockedError,
    StoreWriteError,
)

__all__ = [
    "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_PARTIAL", "EXIT_EMPTY", "EXIT_INTERRUPTED",
    "OneLineErrors", "call", "echo", "fail", "finish_batch", "nothing_found", "usage_message", "warn",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_EMPTY, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
PROG = "semo-batch"

#: Library errors that mean "the input the user named is missing or unusable" (exit 2).
INPUT_ERRORS: tuple[type[SemoError], ...] = (ConfigError, ModelError, StoreError)
#: ... except these, which are runtime conditions (exit 1).
RUNTIME_ERRORS: tuple[type[SemoError], ...] = (StoreLockedError, StoreWriteError)

T = TypeVar("T")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one error line and leave with ``code``."""
    typer.echo(f"{PROG}: error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"{PROG}: warning: {message}", err=True)


def nothing_found(inputs: Sequence[object]) -> NoReturn:
    """Say aloud that the inputs hold no audio, and leave with :data:`EXIT_EMPTY`."""
    warn(f"no audio files in {', '.join(map(str, inputs))}; nothing to do")
    raise typer.Exit(EXIT_EMPTY)


def finish_batch(summary: Any, inputs: Sequence[object], *, found: int, strict: bool = False, quiet: bool = False) -> None:
    """End a batch command: no audio -> a warning and :data:`EXIT_EMPTY`; else its lines, the failed
    files on stderr, and :data:`EXIT_PARTIAL` (:data:`EXIT_ERROR` with ``strict``) if any failed.
    ``quiet`` leaves out the summary's first line (``predict``'s model line)."""
    if found == 0:
        nothing_found(inputs)
    echo(summary.lines()[1 if quiet else 0:])
    echo(summary.failure_lines(), err=True)
    if summary.failed:
        raise typer.Exit(EXIT_ERROR if strict else EXIT_PARTIAL)


def echo(lines: Sequence[str], *, err: bool = False) -> None:
    for line in lines:
        typer.echo(line, err=err)


def call(fn: Callable[..., T], *args: Any, input_errors: tuple[type[BaseException], ...] = (), **kwargs: Any) -> T:
    """Call the library; turn its errors into one line and the documented exit code.

    ``input_errors`` adds error types that mean an unusable input for this command
    (``inspect`` of a file that does not decode, for example).
    """
    try:
        return fn(*args, **kwargs)
    except Interrupted as exc:
        fail(f"interrupted: {exc}", EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except RUNTIME_ERRORS as exc:
        fail(str(exc), EXIT_ERROR)
    except INPUT_ERRORS + input_errors as exc:
        fail(str(exc), EXIT_USAGE)
    except SemoError as exc:
        fail(str(exc), EXIT_ERROR)
    except OSError as exc:  # writing an output: a full disk, a read-only folder
        fail(f"{exc.filename or 'output'}: {exc.strerror or exc}", EXIT_ERROR)


# -- usage errors --------------------------------------------------------------------------------
def _option_name(exc: click_errors.ClickException) -> str:
    param = getattr(exc, "param", None)
    if param is None:
        return ""
    if getattr(param, "metavar", None) and not getattr(param, "opts", [""])[0].startswith("-"):
        return str(param.metavar)  # an argument, by the name its help shows
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")] or list(getattr(param, "opts", []))
    name = opts[0] if opts else str(getattr(param, "name", ""))
    return name if name.startswith("-") else name.upper()


def usage_message(exc: click_errors.ClickException) -> str:
    """One line for a usage error, in our words rather than click's (numbers say theirs through
    :class:`semo_batch.cli_args.Number`)."""
    name = _option_name(exc)
    if isinstance(exc, click_errors.MissingParameter):
        return f"missing {name}"
    if isinstance(exc, click_errors.BadParameter):
        return (f"{name}: {exc.message}" if name else exc.message).rstrip(".")
    message = exc.format_message().rstrip(".")
    return message[:1].lower() + message[1:]


def _help_hint(exc: click_errors.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None and ctx.command_path else PROG
    return f" (see '{path} --help')"


class _WarningLines(logging.Handler):
    """The library's warnings (a damaged chunk set aside, ...) as ``semo-batch: warning:`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        warn(" ".join(record.getMessage().split()))


def show_library_warnings() -> None:
    """Route the ``semo_batch`` logger's warnings to stderr, one line each (once per process)."""
    logger = logging.getLogger("semo_batch")
    if not any(isinstance(h, _WarningLines) for h in logger.handlers):
        logger.addHandler(_WarningLines(logging.WARNING))
        logger.propagate = False


class OneLineErrors(TyperGroup):
    """The command group, run so that usage errors and interrupts print one line, never a box."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        show_library_warnings()
        try:
            code = super().main(args, prog_name or PROG, complete_var, standalone_mode=False,
                                windows_expand_args=windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            typer.echo(exc.format_message())
            sys.exit(EXIT_USAGE)
        except click_errors.ClickException as exc:
            typer.echo(f"{PROG}: error: {usage_message(exc)}{_help_hint(exc)}", err=True)
            sys.exit(EXIT_USAGE if isinstance(exc, click_errors.UsageError) else EXIT_ERROR)
        except (typer.Abort, KeyboardInterrupt):
            typer.echo(f"{PROG}: error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        if args is None:  # the program itself (arguments from sys.argv), not a call from Python
            # The process ends now: what is alive stays alive until then, so the interpreter's
            # last collections need not walk it (featurize's exit with numpy and pyarrow loaded:
            # 28 -> 12 ms; `semo-batch --help`: 72 -> 64 ms in all).  The price: nothing alive
            # now is finalized by the collector, so a command closes what must be flushed itself
            # (files and the store are closed by now); atexit handlers still run.
            gc.freeze()
        sys.exit(code if isinstance(code, int) else EXIT_OK)
