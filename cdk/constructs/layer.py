"""The shared layer: `incident_commander` and its runtime dependencies, bundled WITHOUT Docker.

Local bundling runs pip for the Lambda platform (manylinux wheels for the stage's architecture and
Python version, binary only, so nothing is compiled for the wrong platform), copies the domain
package without the embedded local stack, and precompiles `.pyc` with `unchecked-hash`
invalidation: CDK zips assets with fixed 1980 timestamps, so timestamp-checked `.pyc` would never
match and every cold start would recompile in memory.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..config import StageConfig

PACKAGE = "incident_commander"
# not shipped: the embedded local stack (moto, the CLI) and the dashboard's static files (S3 serves them)
EXCLUDE_DIRS = ("local", "__pycache__")
# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34): wheels up to manylinux_2_34 load there
PLATFORM_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
PIP_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}
# the AWS SDK ships with the Lambda runtime (requirements.txt says so); aws-xray-sdk pulls botocore in
# again, which would add ~90 MB and shadow the runtime's SDK with a second copy
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


def pip_command(requirements: Path, target: Path, architecture: str, python: str) -> list[str]:
    """pip for the Lambda platform: wheels only, for the target architecture and Python version."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
           "-r", str(requirements), "--target", str(target), "--only-binary=:all:",
           "--implementation", "cp", "--python-version", python]
    for tag in PLATFORM_TAGS:
        cmd += ["--platform", f"{tag}_{PIP_ARCH[architecture]}"]
    return cmd


def strip_runtime_provided(target: Path) -> None:
    for name in RUNTIME_PROVIDED:
        for path in [target / name, *target.glob(f"{name}-*.dist-info")]:
            if path.is_dir():
                shutil.rmtree(path)
    if (target / "bin").is_dir():
        shutil.rmtree(target / "bin")


def python_for(version: str) -> str | None:
    """An interpreter of exactly this version, to write .pyc the runtime accepts."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    exe = shutil.which(f"python{version}")
    if not exe:
        return None
    try:  # a version manager's shim may exist without the version behind it
        out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30)
    except OSError:
        return None
    return exe if out.returncode == 0 and out.stdout.strip() == version else None


def copy_package(source: Path, target: Path) -> None:
    shutil.copytree(source, target / PACKAGE, dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names if n in EXCLUDE_DIRS and Path(d, n).is_dir()
                                             or n.endswith(".pyc")])


def compile_pyc(target: Path, python: str) -> None:
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    str(target)], check=True)


@jsii.implements(cdk.ILocalBundling)
class PipLayerBundling:
    """`ILocalBundling`: builds `python/` (the layer layout) in CDK's output directory."""

    def __init__(self, repo: Path, architecture: str, python: str, install: bool = True):
        self.repo, self.architecture, self.python, self.install = repo, architecture, python, install

    def try_bundle(self, output_dir: str, _options: object = None, **_kwargs: object) -> bool:
        target = Path(output_dir) / "python"
        target.mkdir(parents=True, exist_ok=True)
        if self.install:
            subprocess.run(pip_command(self.repo / "requirements.txt", target, self.architecture, self.python),
                           check=True)
            strip_runtime_provided(target)
        copy_package(self.repo / "layers" / "common" / "python" / PACKAGE, target)
        interpreter = python_for(self.python)
        if interpreter:
            compile_pyc(target, interpreter)
        else:
            warnings.warn(f"no python{self.python} on PATH: the layer ships sources without .pyc "
                          f"(cold starts compile in memory); install Python {self.python} to precompile",
                          stacklevel=1)
        return True


def source_hash(repo: Path, architecture: str, python: str) -> str:
    """Changes when the requirements, the package sources or the target platform change."""
    h = hashlib.sha256(f"{architecture}/{python}".encode())
    h.update((repo / "requirements.txt").read_bytes())
    pkg = repo / "layers" / "common" / "python" / PACKAGE
    for f in sorted(pkg.rglob("*")):
        rel = f.relative_to(pkg)
        if f.is_file() and not f.name.endswith(".pyc") and not set(rel.parts[:-1]) & set(EXCLUDE_DIRS):
            h.update(str(rel).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


class CommonLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, repo: Path,
                 runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> None:
        super().__init__(scope, construct_id)
        bundling = cdk.BundlingOptions(
            image=runtime.bundling_image,  # never pulled: local bundling always succeeds or raises
            local=PipLayerBundling(repo, config.architecture, config.python))
        self.layer = lambda_.LayerVersion(
            self, "Layer", layer_version_name=config.name("common"),
            code=lambda_.Code.from_asset(str(repo / "layers" / "common"), bundling=bundling,
                                         asset_hash_type=cdk.AssetHashType.CUSTOM,
                                         asset_hash=source_hash(repo, config.architecture, config.python)),
            compatible_runtimes=[runtime], compatible_architectures=[architecture],
            description="incident_commander domain package and its dependencies",
            removal_policy=cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY)
