"""The layer bundles without Docker for the Lambda platform, and stage context fails loudly when wrong."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT))

from cdk.config import StageConfig, StageConfigError  # noqa: E402
from cdk.constructs import layer  # noqa: E402

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_pip_installs_binary_wheels_for_the_lambda_platform_and_python():
    cmd = layer.pip_command(Path("requirements.txt"), Path("/out"), "arm64", "3.12")
    assert "--only-binary=:all:" in cmd and cmd[cmd.index("--python-version") + 1] == "3.12"
    assert cmd[cmd.index("--implementation") + 1] == "cp"
    platforms = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--platform"]
    assert "manylinux2014_aarch64" in platforms and all(p.endswith("_aarch64") for p in platforms)
    x86 = layer.pip_command(Path("r.txt"), Path("/o"), "x86_64", "3.13")
    assert "manylinux2014_x86_64" in x86


def test_the_package_is_copied_without_the_local_stack_and_compiled_for_an_unchecked_read_only_runtime(tmp_path):
    """Offline: the domain package only (no pip), compiled with this interpreter as the runtime's."""
    bundler = layer.PipLayerBundling(ROOT, "arm64", HOST, install=False)
    assert bundler.try_bundle(str(tmp_path)) is True
    pkg = tmp_path / "python" / layer.PACKAGE
    assert (pkg / "wiring.py").is_file() and (pkg / "names.py").is_file()
    assert not (pkg / "local").exists()
    assert not [p for p in pkg.rglob("*.pyc") if "__pycache__" not in p.parts]
    pyc = pkg / "__pycache__" / f"wiring.{sys.implementation.cache_tag}.pyc"
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, not checked against the source: valid under zip's fixed timestamps
    spec = importlib.util.spec_from_file_location("bundled_names", pkg / "names.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the bundled package is importable as shipped
    assert module.APP == "incident-commander"


def test_the_runtime_sdk_is_not_shipped_again(tmp_path):
    for name in ("boto3", "botocore", "s3transfer", "orjson"):
        (tmp_path / name).mkdir()
        (tmp_path / f"{name}-1.0.dist-info").mkdir()
    layer.strip_runtime_provided(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orjson", "orjson-1.0.dist-info"]


def test_no_interpreter_of_the_runtime_version_means_sources_only_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(layer, "python_for", lambda version: None)
    with pytest.warns(UserWarning, match="without .pyc"):
        layer.PipLayerBundling(ROOT, "arm64", "3.12", install=False).try_bundle(str(tmp_path))
    assert not list((tmp_path / "python").rglob("*.pyc"))


def test_the_asset_hash_follows_requirements_sources_and_platform():
    a = layer.source_hash(ROOT, "arm64", "3.12")
    assert a == layer.source_hash(ROOT, "arm64", "3.12")
    assert a != layer.source_hash(ROOT, "x86_64", "3.12") != layer.source_hash(ROOT, "arm64", "3.13")


@pytest.mark.parametrize(("raw", "message"), [
    ({"architecture": "sparc"}, "stages.dev.architecture"),
    ({"replica_regions": "us-west-2"}, "stages.dev.replica_regions: expected a list"),
    ({"replica_regions": ["mars-1"]}, "'mars-1' is not an AWS region"),
    ({"kinesis_shards": -1}, "stages.dev.kinesis_shards"),
    ({"retain_data": "yes"}, "stages.dev.retain_data: expected true or false"),
    ({"log_retention_days": 31}, "stages.dev.log_retention_days"),
    ({"api_rate_limit": 100, "api_burst_limit": 10}, "api_burst_limit"),
    ({"env": {"PATH": "/tmp"}}, "only IC_* settings"),
    ({"wafrate": 1}, "unknown key(s) ['wafrate']"),
])
def test_a_wrong_stage_setting_fails_naming_the_key(raw, message):
    with pytest.raises(StageConfigError, match=__import__("re").escape(message)):
        StageConfig.from_dict("dev", raw)


def test_the_stages_in_cdk_json_are_valid():
    import json

    stages = json.loads((ROOT / "cdk.json").read_text())["context"]["stages"]
    assert {"dev", "prod"} <= set(stages)
    configs = {k: StageConfig.from_dict(k, v) for k, v in stages.items()}
    assert configs["prod"].retain_data and configs["prod"].waf and configs["prod"].replica_regions
    assert not configs["dev"].retain_data


def test_an_unknown_stage_names_the_known_ones():
    sys.path.insert(0, str(ROOT))
    from cdk.app import build_app

    with pytest.raises(StageConfigError, match=r"stage 'qa' is not in cdk.json context 'stages' \(have: \['dev', 'prod'\]\)"):
        build_app({"stage": "qa", "aws:cdk:bundling-stacks": []})
