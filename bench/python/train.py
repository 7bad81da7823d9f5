"""Fits the scikit-learn models the Python comparison servers serve, from the same CSVs and
hyper-parameters (params.yaml) the trainer uses, and writes them with joblib into
.bench/models/ (the baseline loads them, and so does MLServer's scikit-learn runtime).

The models are fitted on every row: the benchmark measures the cost of serving, not accuracy,
and a model of the same kind and size is all it needs. The fast Python variant needs no file
from here: it runs the committed models/*/1/model.onnx graphs, as prediction-api does.

Usage (from the repository root): .bench/venv-python/bin/python bench/python/train.py
"""

import sys
from pathlib import Path

import joblib
import pandas as pd
import sklearn
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

OUT = Path(".bench/models")


def iris(params: dict) -> DecisionTreeClassifier:
    spec = params["datasets"]["iris"]
    frame = pd.read_csv(spec["raw"])
    hyper = params["iris"]
    # linfa's weights are sample counts here (every sample weighs 1), so its minimum weights
    # are scikit-learn's minimum sample counts.
    model = DecisionTreeClassifier(
        criterion=hyper["split_quality"],
        max_depth=hyper["max_depth"],
        min_samples_split=int(hyper["min_weight_split"]),
        min_samples_leaf=int(hyper["min_weight_leaf"]),
        min_impurity_decrease=hyper["min_impurity_decrease"],
        random_state=params["seed"],
    )
    model.fit(frame[spec["numeric_features"]], frame[spec["target"]])
    return model


def housing(params: dict) -> Pipeline:
    spec = params["datasets"]["housing"]
    frame = pd.read_csv(spec["raw"], keep_default_na=False)
    numeric = spec["numeric_features"]
    categories = spec["categorical_features"]
    encode = ColumnTransformer(
        [
            (
                "one_hot",
                OneHotEncoder(
                    categories=[list(values) for values in categories.values()],
                    drop="first",
                    sparse_output=False,
                ),
                list(categories),
            ),
            ("numeric", "passthrough", numeric),
        ]
    )
    model = Pipeline(
        [("encode", encode), ("scale", StandardScaler()), ("regress", LinearRegression())]
    )
    model.fit(frame[numeric + list(categories)], frame[spec["target"]])
    return model


def main() -> int:
    params = yaml.safe_load(Path("params.yaml").read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fit in (("iris", iris), ("housing", housing)):
        model = fit(params)
        path = OUT / f"{name}.joblib"
        temporary = path.with_suffix(".joblib.tmp")
        joblib.dump(model, temporary)
        # A half-written file must never look like a model to a server started later.
        temporary.replace(path)
        print(f"train: {path} (scikit-learn {sklearn.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
