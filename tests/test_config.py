"""The weight config: schema current, round trip, tamper detection, immutability."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate import ConfigError, WeightConfig, read_config, write_config
from calibrate.config import Dimension, default_bands
from calibrate.errors import VersionExistsError
from calibrate.config.model import SCHEMA_FILE, json_schema, next_version


def make_config(weights=(0.4, 0.3, 0.3), **kw) -> WeightConfig:
    dims = [Dimension(name=n, column=n, weight=w) for n, w in zip(("usage", "support", "commercial"), weights)]
    return WeightConfig(dimensions=dims, bands=default_bands(), **kw)


def test_committed_schema_is_current():
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "calibrate/config/schema/weight-config.schema.json is stale: regenerate it with "
        "python -c 'import json,calibrate.config.model as c; print(json.dumps(c.json_schema(), indent=2, sort_keys=True))'"
    )


def test_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="weights must sum to 1"):
        make_config((0.4, 0.3, 0.31))


def test_bands_must_tile_0_100():
    bands = default_bands()
    with pytest.raises(ValueError, match="ends at 25.0 but 'amber' starts at 50.0"):
        WeightConfig(dimensions=make_config().dimensions, bands=[bands[0], bands[2], bands[3]])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6), st.integers(1, 50))
def test_write_read_round_trip(tmp_path_factory, raw, version):
    total = sum(raw)
    weights = [r / total for r in raw]
    weights[-1] = 1.0 - sum(weights[:-1])
    dims = [Dimension(name=f"d{i}", column=f"col_{i}", weight=max(w, 0.0)) for i, w in enumerate(weights)]
    cfg = WeightConfig(dimensions=dims, bands=default_bands(), version=version, created_at="2026-01-01T00:00:00Z")
    directory = tmp_path_factory.mktemp("cfg")
    path = write_config(cfg, directory)
    assert path.name == f"account-health-v{version}.json"
    back = read_config(path)
    assert back == cfg.sealed()
    assert next_version(directory, "account-health") == version + 1


def test_published_version_is_never_overwritten(tmp_path):
    cfg = make_config(version=1)
    path = write_config(cfg, tmp_path)
    before = path.read_bytes()
    with pytest.raises(VersionExistsError, match=r"version 1 is already published and is never overwritten"):
        write_config(make_config((0.2, 0.4, 0.4), version=1), tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["account-health-v1.json"]  # no temp files left


def test_hand_edited_config_is_refused(tmp_path):
    path = write_config(make_config(version=1), tmp_path)
    doc = json.loads(path.read_text())
    doc["dimensions"][0]["weight"], doc["dimensions"][1]["weight"] = 0.3, 0.4
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"content_hash does not match the content — the file was edited by hand"):
        read_config(path)


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: d.update(schema_version="7.0"), r"unknown schema_version '7.0'"),
        (lambda d: d.update(surprise=1), r"Additional properties are not allowed"),
        (lambda d: d["dimensions"][0].update(weight=-0.1), r"field dimensions/0/weight: -0.1 is less than the minimum"),
    ],
)
def test_malformed_configs(tmp_path, edit, pattern):
    doc = json.loads(make_config(version=1).to_json())
    edit(doc)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=pattern):
        read_config(path)


def test_old_schema_is_upgraded(tmp_path):
    old = {
        "schema_version": "0.9",
        "name": "account-health",
        "version": 3,
        "weights": {"usage": 0.5, "support": 0.5},
        "bands": [{"name": "red", "min": 0, "max": 50, "color": "#f97316"},
                  {"name": "green", "min": 50, "max": 100, "color": "#22c55e"}],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    cfg = read_config(path)
    assert cfg.schema_version == "1.1" and cfg.weights == {"usage": 0.5, "support": 0.5}
    assert cfg.bands[1].code == "CS_HEALTH_GREEN"


@pytest.mark.parametrize(
    ("name", "content"),
    [("broken.yaml", b"dimensions: [unclosed\n"), ("latin.json", "{\"name\": \"Soci\u00e9t\u00e9\"}".encode("latin-1"))],
)
def test_unreadable_config_is_a_config_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"{name}: not a readable JSON/YAML config \(.+\); check the file"):
        read_config(path)
