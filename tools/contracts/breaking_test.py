"""The breaking check, exercised on a scratch git repository holding a copy of our protos."""

import shutil
import subprocess
from pathlib import Path

import pytest

from contracts.breaking import BUF_BREAKING_FOUND, check_breaking

SERVICE_PROTO = Path("protos/stride/identity/v1/identity_service.proto")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree("protos", tmp_path / "protos")
    _git(tmp_path, "init", "--quiet", "--initial-branch=main")
    _git(tmp_path, "add", "protos")
    _git(
        tmp_path,
        "-c",
        "user.name=ci",
        "-c",
        "user.email=ci@stride.invalid",
        "commit",
        "--quiet",
        "-m",
        "baseline",
    )
    return tmp_path


def _edit(repo: Path, old: str, new: str) -> None:
    path = repo / SERVICE_PROTO
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_unchanged_protos_pass(repo: Path) -> None:
    assert check_breaking(repo, "main").returncode == 0


def test_adding_a_field_is_compatible(repo: Path) -> None:
    _edit(
        repo,
        "  string request_id = 6 [(stride.api.v1.bounds).max_length = 128];\n",
        "  string request_id = 6 [(stride.api.v1.bounds).max_length = 128];\n"
        "  string referral_code = 99;\n",
    )
    assert check_breaking(repo, "main").returncode == 0


def test_renumbering_a_field_breaks_the_contract(repo: Path) -> None:
    _edit(
        repo,
        "string display_name = 3 [(stride.api.v1.bounds).max_length = 80];\n  // BCP 47",
        "string display_name = 13 [(stride.api.v1.bounds).max_length = 80];\n  // BCP 47",
    )
    result = check_breaking(repo, "main")
    assert result.returncode == BUF_BREAKING_FOUND
    assert "display_name" in result.stdout + result.stderr


def test_a_missing_baseline_is_reported(repo: Path) -> None:
    with pytest.raises(LookupError, match="origin/main"):
        check_breaking(repo, "origin/main")
