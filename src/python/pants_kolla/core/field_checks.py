"""What a valid field or option value looks like, as pure functions: each returns None when the value is
valid, else the reason it is not (the caller names the file, target and field).

Image names and tags follow Docker's reference grammar (distribution/reference `regexp.go`), so a bad
name is rejected when the BUILD file is parsed, not by the engine as an HTTP 400 after the build.
"""

from __future__ import annotations

import re

# A repository path component: lowercase alphanumerics, separated by `.`, `_`, `__` or runs of `-`.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
MAX_REPOSITORY_LENGTH = 255
_BUILD_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Debian suite/codename (`bookworm`, `stable`, `bookworm-backports`) and package names (Debian policy
# 5.6.1), optionally `:arch` and `=version` as apt accepts them.
_SUITE = re.compile(r"[a-z][a-z0-9.-]*")
_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:-]+)?")


def repository_problem(repository: str) -> str | None:
    if len(repository) > MAX_REPOSITORY_LENGTH:
        return f"`{repository}` is longer than Docker's {MAX_REPOSITORY_LENGTH} characters"
    if not _REPOSITORY_PATH.fullmatch(repository):
        return (
            f"`{repository}` is not a valid Docker repository name: lowercase letters, digits and "
            f"`.`, `_`, `__` or `-` between them, path components separated by `/`"
        )
    return None


def tag_problem(tag: str) -> str | None:
    if not _TAG.fullmatch(tag):
        return (
            f"`{tag}` is not a valid Docker tag: up to 128 letters, digits, `_`, `.` and `-`, not "
            f"starting with `.` or `-`"
        )
    return None


def build_arg_problem(build_arg: str) -> str | None:
    name, equals, _ = build_arg.partition("=")
    if not equals:
        return (
            f"`{build_arg}` has no `=`: write `NAME=value` (values are never taken from the "
            f"environment: builds see only declared inputs)"
        )
    if not _BUILD_ARG_NAME.fullmatch(name):
        return f"`{name}` in `{build_arg}` is not a build argument name (letters, digits and `_`)"
    return None


def duplicate_build_arg_problem(build_args: tuple[str, ...]) -> str | None:
    names = [arg.partition("=")[0] for arg in build_args]
    repeated = sorted({n for n in names if names.count(n) > 1})
    return f"`{repeated[0]}` is set more than once" if repeated else None


def suite_problem(suite: str) -> str | None:
    if not _SUITE.fullmatch(suite):
        return f"`{suite}` is not a Debian suite name (e.g. `bookworm`, `stable`)"
    return None


def package_problem(package: str) -> str | None:
    if not _PACKAGE.fullmatch(package):
        return f"`{package}` is not a Debian package name (e.g. `ca-certificates`, `curl=7.88.1-10`)"
    return None


def source_date_epoch_problem(epoch: int, now: float) -> str | None:
    """mmdebstrap and the layer normalizer only clamp times *newer* than SOURCE_DATE_EPOCH: with an epoch
    after `now`, every file keeps its build time and two builds of the same inputs differ."""
    if epoch < 0:
        return f"{epoch} is before 1970"
    if epoch > now:
        return (
            f"{epoch} is after this machine's clock ({int(now)}): builds clamp only file times newer "
            f"than it, so files would keep their build times and two builds of the same inputs would "
            f"differ. Use a time in the past (the default is 1700000000, 2023-11-14)"
        )
    return None
