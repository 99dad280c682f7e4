"""pants-kolla: build Kolla-style image trees (binary, source and infra install types) with Pants."""


from pants_kolla.goals import (
    kolla_graph,
    kolla_list,
    kolla_lock,
    kolla_publish,
    kolla_render,
    kolla_sbom,
    kolla_size,
    package,
    publish,
    run_image,
    tailor,
)
from pants_kolla.package_run import dist_image, image_run, run_report, run_token
from pants_kolla.target_types import DebianRootfsTarget, KollaImageTarget, KollaTemplateLibraryTarget
from pants_kolla.util_rules import (
    build_context,
    build_image,
    builder_choice,
    builder_process,
    context_pexes,
    engine_endpoint,
    engine_load,
    image_file_index,
    image_sbom,
    image_sizes,
    image_tree_targets,
    locked_debs,
    oci_layout,
    package_lock_resolve,
    prerequisites,
    publish_plan,
    remote_execution,
    render_dockerfile,
    rootfs_mirror_auth,
    source_date_epoch,
    template_library_targets,
    worker_probe,
)


def rules():
    return [
        *builder_process.rules(),
        *builder_choice.rules(),
        *worker_probe.rules(),
        *image_tree_targets.rules(),
        *render_dockerfile.rules(),
        *template_library_targets.rules(),
        *engine_endpoint.rules(),
        *prerequisites.rules(),
        *source_date_epoch.rules(),
        *rootfs_mirror_auth.rules(),
        *build_context.rules(),
        *build_image.rules(),
        *engine_load.rules(),
        *remote_execution.rules(),
        *run_report.rules(),
        *image_run.rules(),
        *run_token.rules(),
        *dist_image.rules(),
        *context_pexes.rules(),
        *package.rules(),
        *kolla_render.rules(),
        *kolla_list.rules(),
        *kolla_graph.rules(),
        *kolla_lock.rules(),
        *kolla_sbom.rules(),
        *kolla_size.rules(),
        *image_file_index.rules(),
        *image_sizes.rules(),
        *image_sbom.rules(),
        *locked_debs.rules(),
        *package_lock_resolve.rules(),
        *tailor.rules(),
        *publish.rules(),
        *run_image.rules(),
        *oci_layout.rules(),
        *publish_plan.rules(),
        *kolla_publish.rules(),
    ]


def target_types():
    return [KollaImageTarget, DebianRootfsTarget, KollaTemplateLibraryTarget]
