"""Rewrite `chalice package`'s deployment.zip without what no Lambda function imports.

Chalice bundles every requirement with all its files. Dropped here:
- the AWS SDK (boto3, botocore, s3transfer) and urllib3: the Lambda Python runtime provides them, and a
  bundled urllib3 2.x would shadow the one the runtime's botocore is built for. botocore alone is 60% of
  the zip. The tests and the local stack still use the pinned SDK of requirements.txt.
- h3's C build leftovers (static library, headers, CMake and pkg-config files, Cython sources) and type stubs.
- powertools' Swagger UI assets (only its own event handler serves them; the app is Chalice).

The archive is rewritten in name order with fixed timestamps and modes, so the same inputs give the same bytes.
Usage: python infra/slim_package.py out/package/deployment.zip
"""

import sys
import zipfile
from pathlib import Path

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3")
BUILD_LEFTOVERS = ("lib64/", "include/", "wrapt-stubs/", "aws_lambda_powertools/event_handler/openapi/swagger_ui/")
LEFTOVER_SUFFIXES = (".a", ".h", ".pyx", ".pxd", ".pyi", ".cmake", ".pc")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def unused(name: str) -> bool:
    """True for an archive member no function imports."""
    top = name.split("/", 1)[0]
    package = top.split("-", 1)[0] if top.endswith((".dist-info", ".data")) else top
    return package in RUNTIME_PROVIDED or name.startswith(BUILD_LEFTOVERS) or name.endswith(LEFTOVER_SUFFIXES)


def slim(path: Path) -> tuple[int, int]:
    """Rewrite the zip at `path` in place; returns its size before and after, in bytes."""
    before = path.stat().st_size
    slimmed = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for member in sorted(source.infolist(), key=lambda m: m.filename):
            if member.is_dir() or unused(member.filename):
                continue
            info = zipfile.ZipInfo(member.filename, date_time=FIXED_TIME)
            info.external_attr = (0o755 if member.external_attr >> 16 & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, source.read(member), compresslevel=9)
    slimmed.replace(path)
    return before, path.stat().st_size


if __name__ == "__main__":
    was, now = slim(Path(sys.argv[1]))
    print(f"{sys.argv[1]}: {was / 1e6:.1f} MB -> {now / 1e6:.1f} MB zipped")
