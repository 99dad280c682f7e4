"""`pants tailor`: a `kolla_image` target for every `Dockerfile.j2` that no `kolla_image` renders (Pants'
docker tailor rule, with install type, parent and dialect guessed from the template, see core/tailor_guess.py),
plus what such an image needs: a `files` target for the files its template COPYs or ADDs, a
`debian_rootfs` under Kolla's base, and a `kolla_template_library` for the `.j2` files templates import.

Unlike the docker rule, ownership by any target (`AllOwnedSources`) is not enough for a template: a
`files` target globbing the images tree (for tests, say) owns every template without making it an image.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from typing import Any, Mapping

from pants.core.goals.tailor import AllOwnedSources, PutativeTarget, PutativeTargets, PutativeTargetsRequest
from pants.engine.fs import DigestContents, FileContent, PathGlobs, Paths
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import AllTargets
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla.core.tailor_guess import (
    CONTEXT_FILES,
    KOLLA_ROOTFS,
    copied_sources,
    guessed_fields,
    image_folders,
    is_kolla_base,
)
from pants_kolla.target_types import (
    DebianRootfsTarget,
    KollaImageTarget,
    KollaTemplateField,
    KollaTemplateLibraryTarget,
)

_IMPORT = re.compile(r"""\{%-?\s*(?:import|from|include)\s+["']([^"']+)["']""")


@dataclass(frozen=True)
class PutativeKollaImagesRequest(PutativeTargetsRequest):
    pass


def _context_sources(folder: str, template: str, files: set[str], owned: AllOwnedSources) -> tuple[str, ...]:
    """The COPY/ADD sources that exist in the image's folder (a folder as `name/**`), not yet owned."""
    found = []
    for source in dict.fromkeys(copied_sources(template)):
        path = os.path.normpath(os.path.join(folder, source))
        if path in files or ("*" in source and fnmatch.filter(files, path)):
            matched = {path} if path in files else set(fnmatch.filter(files, path))
            glob = source
        elif any(f.startswith(path + "/") for f in files):
            matched = {f for f in files if f.startswith(path + "/")}
            glob = f"{source}/**"
        else:
            continue  # made by kolla-build at build time (plugins-archive, patches...): not in the tree
        if not matched <= set(owned):
            found.append(glob)
    return tuple(found)


def _image_targets(
    template: FileContent, folders: Mapping[str, list[str]], files: set[str], owned: AllOwnedSources
) -> list[PutativeTarget]:
    folder = os.path.dirname(template.path)
    text = template.content.decode(errors="replace")  # a guess: a stray byte must not stop tailor
    fields: dict[str, Any] = guessed_fields(template.path, text, folders)
    targets = []
    sources = _context_sources(folder, text, files, owned)
    if sources:
        targets.append(
            PutativeTarget(folder, CONTEXT_FILES, "files", sources, sources, kwargs={"sources": sources})
        )
        fields["dependencies"] = (f":{CONTEXT_FILES}",)
    if is_kolla_base(text):
        rootfs = dict(KOLLA_ROOTFS)
        targets.append(
            PutativeTarget(folder, rootfs.pop("name"), DebianRootfsTarget.alias, (), (), kwargs=rootfs)
        )
    # Not `for_target_type`: it would claim the template as owned sources, see a conflict with
    # any `files` target over it and "restrict" the target with a `sources` field it has not got.
    targets.append(
        PutativeTarget(folder, os.path.basename(folder), KollaImageTarget.alias, (), (), kwargs=fields)
    )
    return targets


def _libraries(templates: DigestContents, candidates: Paths, owned: AllOwnedSources) -> list[PutativeTarget]:
    """A library per folder holding `.j2` files that templates import by name and no target owns."""
    imported = {name for t in templates for name in _IMPORT.findall(t.content.decode(errors="replace"))}
    by_folder: dict[str, list[str]] = {}
    for path in candidates.files:
        if os.path.basename(path) in imported and path not in owned:
            by_folder.setdefault(os.path.dirname(path), []).append(os.path.basename(path))
    return [
        PutativeTarget(
            folder,
            "templates",
            KollaTemplateLibraryTarget.alias,
            tuple(names),
            tuple(names),
            kwargs={"sources": tuple(sorted(names))},
        )
        for folder, names in sorted(by_folder.items())
    ]


@rule(level=LogLevel.DEBUG, desc="Determine candidate kolla_image targets to create")
async def find_putative_kolla_images(
    request: PutativeKollaImagesRequest, all_targets: AllTargets, owned: AllOwnedSources
) -> PutativeTargets:
    templates, all_templates, library_candidates = await MultiGet(
        Get(DigestContents, PathGlobs, request.path_globs(KollaTemplateField.default)),
        Get(Paths, PathGlobs([f"**/{KollaTemplateField.default}"])),
        Get(Paths, PathGlobs, request.path_globs("*.j2")),
    )
    rendered = {t[KollaTemplateField].file_path for t in all_targets if isinstance(t, KollaImageTarget)}
    new = sorted((t for t in templates if t.path not in rendered), key=lambda t: t.path)
    folder_files = await MultiGet(Get(Paths, PathGlobs([f"{os.path.dirname(t.path)}/**"])) for t in new)
    folders = image_folders(all_templates.files)
    targets = [
        putative
        for template, paths in zip(new, folder_files)
        for putative in _image_targets(template, folders, set(paths.files), owned)
    ]
    library_files = Paths(
        tuple(p for p in library_candidates.files if os.path.basename(p) != KollaTemplateField.default), ()
    )
    return PutativeTargets([*targets, *_libraries(templates, library_files, owned)])


def rules():
    return [*collect_rules(), UnionRule(PutativeTargetsRequest, PutativeKollaImagesRequest)]
