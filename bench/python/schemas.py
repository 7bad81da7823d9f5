"""The request bodies both Python servers accept, as pydantic models: the seed's records and
the KServe V2 inference request. Kept in one place so the two servers parse the same shapes."""

from typing import Any

from pydantic import BaseModel

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]
HOUSING_NUMERIC = [
    "lotSize",
    "age",
    "landValue",
    "livingArea",
    "pctCollege",
    "bedrooms",
    "fireplaces",
    "bathrooms",
    "rooms",
]
HOUSING_STRINGS = ["heating", "fuel", "sewer", "waterfront", "newConstruction", "centralAir"]
HOUSING_FEATURES = HOUSING_NUMERIC + HOUSING_STRINGS


class IrisRecord(BaseModel):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


class HousingRecord(BaseModel):
    lotSize: float
    age: float
    landValue: float
    livingArea: float
    pctCollege: float
    bedrooms: float
    fireplaces: float
    bathrooms: float
    rooms: float
    heating: str
    fuel: str
    sewer: str
    waterfront: str
    newConstruction: str
    centralAir: str


class V2Input(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    # Flat or nested; absent when the tensor travels in the binary part of the body.
    data: list[Any] | None = None


class V2Output(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class V2Request(BaseModel):
    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[V2Input]
    outputs: list[V2Output] | None = None


RECORD_TYPES = {"iris": IrisRecord, "housing": HousingRecord}
FEATURES = {"iris": IRIS_FEATURES, "housing": HOUSING_FEATURES}
