"""The descriptor set Envoy's transcoder needs, built from the generated modules that run.

No protoc at runtime: each `*_pb2` module carries its file's serialized descriptor, including the
`google.api.http` options. `google/rpc/error_details.proto` is always included, otherwise Envoy
cannot render rich error details into JSON bodies.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from google.rpc import error_details_pb2, status_pb2

_ALWAYS_INCLUDED = (status_pb2.DESCRIPTOR, error_details_pb2.DESCRIPTOR)


def _in_dependency_order(files: Iterable[FileDescriptor]) -> list[FileDescriptor]:
    ordered: list[FileDescriptor] = []
    seen: set[str] = set()

    def visit(file: FileDescriptor) -> None:
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            visit(dependency)
        ordered.append(file)

    for file in files:
        visit(file)
    return ordered


def build_descriptor_set(roots: Iterable[FileDescriptor]) -> bytes:
    files = _in_dependency_order([*roots, *_ALWAYS_INCLUDED])
    descriptor_set = descriptor_pb2.FileDescriptorSet(
        file=[descriptor_pb2.FileDescriptorProto.FromString(f.serialized_pb) for f in files]
    )
    return descriptor_set.SerializeToString()
