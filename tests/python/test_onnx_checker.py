"""Every committed model graph passes the official ONNX checker in full-check mode and uses an
IR version and opsets that ONNX Runtime 1.31 accepts."""
import json
import pathlib

import onnx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = sorted(ROOT.glob("models/*/*/model.onnx"))


def test_the_repository_has_our_models():
    names = {p.parent.parent.name for p in MODELS}
    assert {"housing", "iris"} <= names


@pytest.mark.parametrize("path", MODELS, ids=lambda p: str(p.relative_to(ROOT)))
def test_graph_passes_full_check(path: pathlib.Path):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version <= 13
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets.get("", 0) <= 26
    assert opsets.get("ai.onnx.ml", 0) <= 5


@pytest.mark.parametrize("path", MODELS, ids=lambda p: str(p.relative_to(ROOT)))
def test_graph_matches_its_metadata(path: pathlib.Path):
    model = onnx.load(str(path))
    meta = json.loads((path.parent / "metadata.json").read_text())
    assert [i.name for i in model.graph.input] == [f["name"] for f in meta["features"]]
    assert [o.name for o in model.graph.output] == [o["name"] for o in meta["outputs"]]
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["model_sha256"]
