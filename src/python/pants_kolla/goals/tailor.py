"""`pants tailor`: a `kolla_image` target for every unowned `Dockerfile.j2` (Pants' docker tailor rule,
with install type and parent guessed from the template, see tailor_guess.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.core.goals.tailor import AllOwnedSources, PutativeTarget, PutativeTargets, PutativeTargetsRequest
from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pants_kolla.tailor_guess import guessed_fields
from pants_kolla.target_types import KollaImageTarget, KollaTemplateField


@dataclass(frozen=True)
class PutativeKollaImagesRequest(PutativeTargetsRequest):
    pass


@rule(level=LogLevel.DEBUG, desc="Determine candidate kolla_image targets to create")
async def find_putative_kolla_images(
    request: PutativeKollaImagesRequest, all_owned_sources: AllOwnedSources
) -> PutativeTargets:
    templates = await Get(DigestContents, PathGlobs, request.path_globs(KollaTemplateField.default))
    owned = set(all_owned_sources)
    return PutativeTargets(
        PutativeTarget.for_target_type(
            KollaImageTarget,
            path=os.path.dirname(template.path),
            name=None,
            triggering_sources=[KollaTemplateField.default],
            kwargs=guessed_fields(template.path, template.content.decode()),
        )
        for template in sorted(templates, key=lambda t: t.path)
        if template.path not in owned
    )


def rules():
    return [*collect_rules(), UnionRule(PutativeTargetsRequest, PutativeKollaImagesRequest)]
