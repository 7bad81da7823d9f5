"""`dvc repro` reproduces the pipeline from a copy of the repository, and the graphs it writes
are byte-identical to the ones recorded in the committed dvc.lock (and published in models/)."""
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DVC = pathlib.Path(sys.executable).parent / "dvc"


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p]


def locked_md5(lock: dict, stage: str, path: str) -> str:
    for out in lock["stages"][stage]["outs"]:
        if out["path"] == path:
            return out["md5"]
    raise AssertionError(f"dvc.lock has no out {path} in stage {stage}")


def test_dvc_repro_reproduces_the_locked_models(tmp_path: pathlib.Path, ort_library: pathlib.Path):
    work = tmp_path / "repo"
    for rel in tracked_files():
        src = ROOT / rel
        if src.is_file():
            dst = work / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run(git + ["init", "-q"], cwd=work, check=True)
    subprocess.run(git + ["add", "-A"], cwd=work, check=True)
    subprocess.run(git + ["commit", "-qm", "copy"], cwd=work, check=True)

    env = dict(os.environ)
    # Reuse the compiled dependencies of the checkout under test instead of rebuilding them.
    env["CARGO_TARGET_DIR"] = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    env["ORT_DYLIB_PATH"] = str(ort_library)
    env["DVC_NO_ANALYTICS"] = "1"
    run = subprocess.run([str(DVC), "repro", "--force"], cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, f"dvc repro failed:\n{run.stdout}\n{run.stderr}"

    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    for name in ("housing", "iris"):
        rel = f"artifacts/{name}/model.onnx"
        reproduced = hashlib.md5((work / rel).read_bytes()).hexdigest()
        assert reproduced == locked_md5(lock, f"train_{name}", rel), f"{rel} differs from dvc.lock"
        versions = sorted(int(p.name) for p in (ROOT / "models" / name).iterdir() if p.name.isdigit())
        published = (ROOT / "models" / name / str(versions[-1]) / "model.onnx").read_bytes()
        assert hashlib.md5(published).hexdigest() == reproduced, f"models/{name}/{versions[-1]} is not the reproduced graph"
