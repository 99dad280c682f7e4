"""pants-kolla: build Kolla-style image trees (binary, source and infra install types) with Pants."""

from pants.backend.python.util_rules import pex

from pants_kolla.goals import graph as graph_goal
from pants_kolla.goals import list_images, tailor
from pants_kolla.goals import render as render_goal
from pants_kolla.goals import package, publish
from pants_kolla.registry_base import RegistryImageField
from pants_kolla.subsystems import builder
from pants_kolla.target_types import DebianRootfsTarget, KollaImageTarget, KollaTemplateLibraryTarget
from pants_kolla.util_rules import (
    apt_auth,
    build,
    context,
    context_pex,
    dist_image,
    engine,
    image_graph,
    image_run,
    kolla_run,
    load,
    prerequisites,
    render,
    source_date_epoch,
    summary,
    template_libraries,
    worker,
)


def rules():
    return [
        *pex.rules(),  # the builder runs from a venv PEX, with or without the Python backend
        *builder.rules(),
        *image_graph.rules(),
        *render.rules(),
        *template_libraries.rules(),
        *engine.rules(),
        *prerequisites.rules(),
        *source_date_epoch.rules(),
        *apt_auth.rules(),
        *context.rules(),
        *build.rules(),
        *load.rules(),
        *worker.rules(),
        *summary.rules(),
        *image_run.rules(),
        *kolla_run.rules(),
        *dist_image.rules(),
        *context_pex.rules(),
        *package.rules(),
        *render_goal.rules(),
        *list_images.rules(),
        *graph_goal.rules(),
        *tailor.rules(),
        *publish.rules(),
        DebianRootfsTarget.register_plugin_field(RegistryImageField),
    ]


def target_types():
    return [KollaImageTarget, DebianRootfsTarget, KollaTemplateLibraryTarget]
