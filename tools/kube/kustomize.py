"""Offline `kustomize build` for the subset of kustomize that `k8s/` uses, plus schema validation.

CI reaches only the package registries, where no kustomize binary is published; this builder
covers what our kustomizations say (resources, namespace, labels, images, patches by kind and
name) and rejects any other field, so a manifest can't silently depend on something it skips.
`./pants run tools/kube:validate` builds every kustomization under `k8s/` and checks each
object against the Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields fail).
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33.0"
KUSTOMIZATION = "kustomization.yaml"
SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "patches"}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}

Manifest = dict[str, Any]


class KustomizeError(ValueError):
    pass


def _load_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _deep_merge(base: Manifest, patch: Manifest) -> Manifest:
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _pod_containers(manifest: Manifest) -> Iterator[dict[str, Any]]:
    pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def _set_image(manifest: Manifest, image: dict[str, str]) -> None:
    for container in _pod_containers(manifest):
        name, _, tag = container["image"].partition(":")
        if name == image["name"]:
            name = image.get("newName", name)
            tag = image.get("newTag", tag)
            container["image"] = f"{name}:{tag}" if tag else name


def _identity(manifest: Manifest) -> tuple[str, str]:
    return manifest["kind"], manifest["metadata"]["name"]


def build(directory: Path) -> list[Manifest]:
    """The objects a kustomization directory produces, in order."""
    kustomization = yaml.safe_load((directory / KUSTOMIZATION).read_text())
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unsupported)}")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        manifests.extend(build(path) if path.is_dir() else _load_documents(path))
    for patch_entry in kustomization.get("patches", []):
        for patch in _load_documents(directory / patch_entry["path"]):
            targets = [i for i, m in enumerate(manifests) if _identity(m) == _identity(patch)]
            if not targets:
                raise KustomizeError(f"{directory}: patch {_identity(patch)} matches nothing")
            for index in targets:
                manifests[index] = _deep_merge(manifests[index], patch)
    for manifest in manifests:
        if "namespace" in kustomization and manifest["kind"] not in CLUSTER_SCOPED_KINDS:
            manifest["metadata"]["namespace"] = kustomization["namespace"]
        for label in kustomization.get("labels", []):
            manifest["metadata"].setdefault("labels", {}).update(label["pairs"])
        for image in kustomization.get("images", []):
            _set_image(manifest, image)
    return manifests


def kustomizations(root: Path) -> list[Path]:
    return sorted(path.parent for path in root.rglob(KUSTOMIZATION))


def validate(manifests: Sequence[Manifest]) -> None:
    """Raises with the object and the schema's complaint on the first invalid object."""
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            kind, name = _identity(manifest)
            raise KustomizeError(f"{kind}/{name}: {error.message}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="k8s-validate", description=__doc__)
    parser.add_argument("root", type=Path, nargs="?", default=Path("k8s"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for directory in kustomizations(args.root):
        manifests = build(directory)
        validate(manifests)
        print(f"{directory}: {len(manifests)} objects valid for Kubernetes {KUBERNETES_VERSION}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
