"""pants-kolla: build Kolla-style image trees (binary, source and infra install types) with Pants."""

from pants_kolla.goals import package
from pants_kolla.subsystems import builder
from pants_kolla.target_types import DebianRootfsTarget, KollaImageTarget, KollaTemplateLibraryTarget
from pants_kolla.util_rules import build, engine, image_graph, render


def rules():
    return [
        *builder.rules(),
        *image_graph.rules(),
        *render.rules(),
        *engine.rules(),
        *build.rules(),
        *package.rules(),
    ]


def target_types():
    return [KollaImageTarget, DebianRootfsTarget, KollaTemplateLibraryTarget]
