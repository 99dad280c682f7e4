"""`pants tailor`: a `kolla_image` target for every `Dockerfile.j2` that no `kolla_image` renders (Pants'
docker tailor rule, with install type and parent guessed from the template, see tailor_guess.py).

Unlike the docker rule, ownership by any target (`AllOwnedSources`) is not enough: a `files` target
globbing the images tree (for tests, say) owns every template without making it an image."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.core.goals.tailor import PutativeTarget, PutativeTargets, PutativeTargetsRequest
from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import AllTargets
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla.tailor_guess import guessed_fields
from pants_kolla.target_types import KollaImageTarget, KollaTemplateField


@dataclass(frozen=True)
class PutativeKollaImagesRequest(PutativeTargetsRequest):
    pass


@rule(level=LogLevel.DEBUG, desc="Determine candidate kolla_image targets to create")
async def find_putative_kolla_images(
    request: PutativeKollaImagesRequest, all_targets: AllTargets
) -> PutativeTargets:
    templates = await Get(DigestContents, PathGlobs, request.path_globs(KollaTemplateField.default))
    rendered = {t[KollaTemplateField].file_path for t in all_targets if isinstance(t, KollaImageTarget)}
    return PutativeTargets(
        # Not `for_target_type`: it would claim the template as owned sources, see a conflict with
        # any `files` target over it and "restrict" the target with a `sources` field it has not got.
        PutativeTarget(
            path=os.path.dirname(template.path),
            name=os.path.basename(os.path.dirname(template.path)),
            type_alias=KollaImageTarget.alias,
            triggering_sources=(),
            owned_sources=(),
            kwargs=guessed_fields(template.path, template.content.decode()),
        )
        for template in sorted(templates, key=lambda t: t.path)
        if template.path not in rendered
    )


def rules():
    return [*collect_rules(), UnionRule(PutativeTargetsRequest, PutativeKollaImagesRequest)]
