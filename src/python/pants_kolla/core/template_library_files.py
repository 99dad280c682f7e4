"""Which template files an image's template may import, from its `kolla_template_library` targets: pure.

Templates import library files by file name (`{% import "macros.j2" as macros %}`), so two libraries of
one image holding the same name would silently shadow each other: that is an error naming both."""

from __future__ import annotations

import os
from typing import Iterable

from pants_kolla.core.errors import KollaInputError


class DuplicateTemplateError(KollaInputError):
    pass


def library_templates(files: Iterable[tuple[str, str, str]], *, origin: str) -> dict[str, str]:
    """`files`: (library target spec, file path, content) -> {file name: content}."""
    found: dict[str, tuple[str, str]] = {}
    templates: dict[str, str] = {}
    for library, path, content in files:
        name = os.path.basename(path)
        if name in found and found[name][1] != path:
            first_library, first_path = found[name]
            raise DuplicateTemplateError(
                f"{origin}: two template library files are named `{name}`: `{first_path}` (target "
                f"`{first_library}`) and `{path}` (target `{library}`); templates import them by file "
                f"name. Give the image one library holding `{name}` (the nearest kolla_template_library "
                f"up its folder tree is used, unless it depends on libraries explicitly)."
            )
        found[name] = (library, path)
        templates[name] = content
    return templates
