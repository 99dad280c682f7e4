"""The one base of every input error the plugin raises (a BUILD field, a template, an option, a file),
and the one way such an error names where it is: "file: target, field"."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the formatter reads addresses; core/ needs no Pants at run time
    from pants.engine.addresses import Address


class KollaError(Exception):
    """The base of every error the plugin raises on purpose: Pants prints its message, no traceback."""


class KollaBuildError(KollaError):
    """A build failed (its log says why), or an image of the run did."""


class KollaInputError(KollaError):
    """A user error in the image tree, a template or an option: Pants prints the message as one line,
    with no traceback. Every input error of the plugin derives from it and is raised where it is found."""


def display(address: Address) -> str:
    """`images/cron` rather than `images/cron:cron`, as users write it."""
    spec = address.spec
    default_name = f"{address.spec_path}:{address.spec_path.rsplit('/', 1)[-1]}"
    return address.spec_path + spec[len(default_name) :] if spec.startswith(default_name) else spec


def where(address: Address, field: str, *, with_file: bool = True) -> str:
    """The BUILD file, the target and the field an input error is about. `with_file=False` where Pants
    prefixes the message with the BUILD file and line itself (an `InvalidFieldException` at parse time)."""
    target = f"target `{display(address)}`, field `{field}`"
    return f"{address.spec_path or '.'}/BUILD: {target}" if with_file else target


def file_text(content: bytes, path: str, origin: str) -> str:
    """A declared text file's content (a template, an override, a library, a config file), or an input
    error naming the file and who declared it (`origin`) when it is not UTF-8 text."""
    try:
        return content.decode()
    except UnicodeDecodeError as e:
        raise KollaInputError(f"{origin}: `{path}` is not UTF-8 text (byte {e.start}: {e.reason}).") from None
