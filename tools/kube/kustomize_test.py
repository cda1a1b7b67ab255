from pathlib import Path

import pytest

from kube.kustomize import KustomizeError, build, validate


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: example/web}]
"""


@pytest.fixture
def overlay(tmp_path: Path) -> Path:
    write(tmp_path / "base" / "web.yaml", DEPLOYMENT)
    write(
        tmp_path / "base" / "kustomization.yaml",
        "namespace: shop\nlabels: [{pairs: {team: a}}]\nresources: [web.yaml]\n",
    )
    write(
        tmp_path / "prod" / "scale.yaml",
        "kind: Deployment\nmetadata: {name: web}\n" "spec: {replicas: 3}\n",
    )
    write(
        tmp_path / "prod" / "kustomization.yaml",
        "resources: [../base]\npatches: [{path: scale.yaml}]\n"
        "images: [{name: example/web, newName: registry.example/web, newTag: '1.2'}]\n",
    )
    return tmp_path / "prod"


def test_an_overlay_applies_namespace_labels_patches_and_images(overlay: Path) -> None:
    (deployment,) = build(overlay)
    assert deployment["metadata"] == {"name": "web", "namespace": "shop", "labels": {"team": "a"}}
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/web:1.2"
    validate([deployment])


def test_fields_it_does_not_implement_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", "resources: []\nconfigMapGenerator: []\n")
    with pytest.raises(KustomizeError, match="configMapGenerator"):
        build(tmp_path)


def test_a_patch_that_matches_nothing_is_an_error(overlay: Path) -> None:
    write(overlay / "scale.yaml", "kind: Deployment\nmetadata: {name: api}\nspec: {replicas: 3}\n")
    with pytest.raises(KustomizeError, match="matches nothing"):
        build(overlay)


def test_an_unknown_field_fails_schema_validation(overlay: Path) -> None:
    (deployment,) = build(overlay)
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(KustomizeError, match="Deployment/web"):
        validate([deployment])
