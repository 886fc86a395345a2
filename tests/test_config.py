"""The weight config: schema current, round trip, tamper detection, immutability."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate import ConfigError, WeightConfig, read_config, write_config
from calibrate.config import Dimension, default_bands
from calibrate.errors import VersionExistsError
from calibrate.config.model import SCHEMA_FILE, json_schema, next_version, published_names
from calibrate.config.seal import MAX_BANDS, MAX_CONFIG_BYTES, MAX_DIMENSIONS

ROOT = Path(__file__).resolve().parents[1]


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


def test_published_names_are_the_config_names_of_a_store(tmp_path):
    assert published_names(tmp_path / "absent") == []
    for name in ("account-health-v1.json", "account-health-v12.json", "smb-v2-v3.json", "notes.json", "x-v1.yaml"):
        (tmp_path / name).write_text("{}")
    assert published_names(tmp_path) == ["account-health", "smb-v2"]


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
    with pytest.raises(ConfigError, match=r"old.json: not sealed \(no content_hash\)"):  # 0.9 had no seal
        read_config(path)
    cfg = read_config(path, draft=True)  # what `calibrate config publish` reads, then seals
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


# -- the seal is mandatory ---------------------------------------------------------------------------


def sealed_doc(**kw) -> dict:
    return json.loads(make_config(version=1, created_at="2026-01-01T00:00:00Z", **kw).sealed().to_json())


def test_unsealed_config_is_refused_and_a_draft_is_read_only_on_request(tmp_path):
    doc = sealed_doc()
    del doc["content_hash"]
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"draft.json: not sealed \(no content_hash\), so it is refused; "
                                          r"`calibrate config publish .*draft.json` seals a draft$"):
        read_config(path)
    assert read_config(path, draft=True).content_hash is None
    edited = dict(doc, content_hash="sha256:" + "0" * 64)
    path.write_text(json.dumps(edited))
    with pytest.raises(ConfigError, match="content_hash does not match the content"):
        read_config(path, draft=True)  # a draft may be unsealed, never wrongly sealed


def test_registered_hash_must_match(tmp_path):
    path = tmp_path / "c.json"
    doc = sealed_doc()
    path.write_text(json.dumps(doc))
    assert read_config(path, registered_hash=doc["content_hash"]).content_hash == doc["content_hash"]
    other = sealed_doc(weights=(0.2, 0.4, 0.4))["content_hash"]
    with pytest.raises(ConfigError, match=rf"c.json: content_hash {doc['content_hash']} is not the {other} the model "
                                          "registry recorded for this version — the config was replaced"):
        read_config(path, registered_hash=other)


@pytest.mark.parametrize(
    ("name", "text", "pattern"),
    [
        ("dup.json", '{"name": "a", "name": "b"}', r"dup.json: key 'name' appears twice in one object"),
        ("dup.yaml", "name: a\nname: b\n", r"dup.yaml: key 'name' appears twice in one object"),
        ("nan.json", '{"x": [1.0, NaN]}', r"nan.json: x/1: nan is not a number a config may hold"),
        ("inf.json", '{"x": {"y": Infinity}}', r"inf.json: x/y: inf is not a number a config may hold"),
        ("big.json", '{"x": 1e999}', r"big.json: x: inf is not a number a config may hold"),
        ("nan.yaml", "x: .nan\n", r"nan.yaml: x: nan is not a number a config may hold"),
        ("alias.yaml", "a: &w 0.5\nb: *w\n", r"alias.yaml: uses a YAML anchor or alias; a config is plain data"),
        ("bomb.yaml", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", r"bomb.yaml: uses a YAML anchor or alias"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, r"deep.json: not a readable JSON/YAML config"),
    ],
)
def test_ambiguous_or_non_finite_documents_are_refused(tmp_path, name, text, pattern):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        read_config(path)


def test_string_numbers_are_not_coerced(tmp_path):
    doc = sealed_doc()
    doc["dimensions"][0]["weight"] = str(doc["dimensions"][0]["weight"])
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"dimensions/0/weight: '0.4' is not of type 'number'"):
        read_config(path)


def test_yaml_config_reads_like_json(tmp_path):
    import yaml

    doc = sealed_doc()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert read_config(path) == WeightConfig.model_validate(doc)


@pytest.mark.parametrize(("dimensions", "bands", "pattern"), [
    (MAX_DIMENSIONS + 1, 4, rf"{MAX_DIMENSIONS + 1:,} dimensions is over the limit of {MAX_DIMENSIONS:,}"),
    (2, MAX_BANDS + 1, rf"{MAX_BANDS + 1:,} bands is over the limit of {MAX_BANDS:,}"),
])
def test_oversized_configs_are_refused_before_validation(tmp_path, dimensions, bands, pattern):
    doc = sealed_doc()
    doc["dimensions"] = [{"name": f"d{i}", "column": f"d{i}", "weight": 1 / dimensions} for i in range(dimensions)]
    doc["bands"] = [{"name": f"b{i}", "min": 100 * i / bands, "max": 100 * (i + 1) / bands, "color": "#000000",
                     "code": f"B{i}"} for i in range(bands)]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=pattern):
        read_config(path)


def test_a_200000_dimension_config_is_refused(tmp_path):
    doc = sealed_doc()
    doc["dimensions"] = [{"name": f"d{i}", "column": f"d{i}", "weight": 5e-6} for i in range(200_000)]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    assert path.stat().st_size > MAX_CONFIG_BYTES
    with pytest.raises(ConfigError, match=rf"c.json: [\d,]+ bytes is over the {MAX_CONFIG_BYTES:,}-byte limit"):
        read_config(path)
    path.write_text(json.dumps(doc, separators=(",", ":")).replace('"weight":5e-06', '"weight":0'))
    with pytest.raises(ConfigError, match=r"c.json: (200,000 dimensions is over the limit|[\d,]+ bytes is over)"):
        read_config(path)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


CONSUMERS = {
    "score": ["score", "--config", "{c}", "--data", "{data}", "--out", "s.csv"],
    "validate": ["validate", "--config", "{c}", "--data", "{data}"],
    "check": ["check", "--config", "{c}", "--data", "{data}"],
    "drift": ["drift", "--config", "{c}", "--data", "{data}"],
    "export-sql": ["export-sql", "--config", "{c}"],
    "config validate": ["config", "validate", "{c}"],
    "diff": ["diff", "{c}", "{c}"],
    "run": ["run", "--current", "{c}"],
    "register": ["register", "{c}"],
}


@pytest.mark.parametrize("command", CONSUMERS, ids=list(CONSUMERS))
def test_every_command_refuses_an_unsealed_config(tmp_path, command):
    doc = json.loads((ROOT / "data" / "account-health-v1.json").read_text())
    del doc["content_hash"]
    (tmp_path / "draft.json").write_text(json.dumps(doc))
    args = [a.format(c="draft.json", data=str(ROOT / "data" / "cs_book.csv")) for a in CONSUMERS[command]]
    res = _cli(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        "calibrate: error: draft.json: not sealed (no content_hash), so it is refused; "
        "`calibrate config publish draft.json` seals a draft"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["draft.json"]  # nothing written


def test_config_publish_seals_a_draft(tmp_path):
    doc = json.loads((ROOT / "data" / "account-health-v1.json").read_text())
    del doc["content_hash"]
    doc["version"] = 0
    (tmp_path / "draft.json").write_text(json.dumps(doc))
    res = _cli("config", "publish", "draft.json", "--configs", "configs", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    published = read_config(tmp_path / "configs" / "account-health-v1.json")
    assert published.content_hash == published.compute_hash() and published.weights == WeightConfig.model_validate(doc).weights
    assert _cli("export-sql", "--config", "configs/account-health-v1.json", cwd=tmp_path).returncode == 0
