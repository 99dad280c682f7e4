"""pants-kolla: build Kolla-style image trees (binary, source and infra install types) with Pants."""

from pants.backend.python.util_rules import pex

from pants_kolla.goals import package
from pants_kolla.subsystems import builder
from pants_kolla.target_types import DebianRootfsTarget, KollaImageTarget, KollaTemplateLibraryTarget
from pants_kolla.util_rules import build, context_pex, engine, image_graph, render


def rules():
    return [
        *pex.rules(),  # the builder runs from a venv PEX, with or without the Python backend
        *builder.rules(),
        *image_graph.rules(),
        *render.rules(),
        *engine.rules(),
        *build.rules(),
        *context_pex.rules(),
        *package.rules(),
    ]


def target_types():
    return [KollaImageTarget, DebianRootfsTarget, KollaTemplateLibraryTarget]
