#!/usr/bin/env bash
# Provisions what bench/run.py and bench/half_load.py need besides the Rust binaries: wrk from
# Debian, oha from crates.io, two Python environments under .bench/ (ignored by git) and the
# scikit-learn models the Python servers load. Idempotent and cached: an environment is rebuilt only when its requirements file
# changes, the models only when their data, parameters or training script change.
# BENCH_PYTHON picks the interpreter for the environments (MLServer 1.7.1 needs 3.9 to 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${BENCH_PYTHON:-python3}

scripts/apt-install.sh wrk "wrk" wrk

# oha holds a fixed request rate (bench/half_load.py); wrk cannot. Built from crates.io into
# .bench/oha, once.
oha_version=1.16.0
if [ "$(.bench/oha/bin/oha --version 2>/dev/null)" != "oha $oha_version" ]; then
  echo "bench: installing oha $oha_version into .bench/oha (a few minutes)"
  cargo install oha --version "$oha_version" --locked --root .bench/oha
fi

# venv NAME REQUIREMENTS: .bench/NAME with exactly REQUIREMENTS installed.
venv() {
  local dir=.bench/$1 requirements=$2 stamp
  stamp=$dir/.installed-$(sha256sum "$requirements" | cut -c1-16)
  if [ -f "$stamp" ]; then
    echo "bench: $dir up to date"
    return
  fi
  echo "bench: installing $requirements into $dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  rm -f "$dir"/.installed-*
  touch "$stamp"
}
venv venv-python bench/python/requirements.txt
venv venv-mlserver bench/mlserver/requirements.txt

inputs=(bench/python/train.py bench/python/requirements.txt params.yaml data/iris_raw.csv data/housing_raw.csv)
stamp=.bench/models/.trained-$(cat "${inputs[@]}" | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ -f .bench/models/iris.joblib ] && [ -f .bench/models/housing.joblib ]; then
  echo "bench: .bench/models up to date"
else
  .bench/venv-python/bin/python bench/python/train.py
  rm -f .bench/models/.trained-*
  touch "$stamp"
fi
