//! Every route of the server, documented: the one list the OpenAPI document is built from and
//! the route-coverage tests compare with the router.

use serde_json::{Map, Value};

use super::examples as ex;
use super::openapi::{Body, Method, Operation, Reply, schema};
use super::shapes::*;
use crate::http::health::{
    HealthResponse, LiveResponse, ModelsInfo, ReadyResponse, ServerMetadata,
};
use crate::http::repository::{IndexRequest, IndexRow, ModelRequest};
use crate::tensor::{InferenceRequest, InferenceResponse};

/// The groups of operations, in the order the docs page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Records,
    Health,
    V2,
    V1,
    Mlflow,
    Docs,
}

impl Tag {
    pub const ALL: [Tag; 6] = [
        Tag::Records,
        Tag::Health,
        Tag::V2,
        Tag::V1,
        Tag::Mlflow,
        Tag::Docs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tag::Records => "Records",
            Tag::Health => "Health and models",
            Tag::V2 => "KServe V2",
            Tag::V1 => "TF-Serving V1",
            Tag::Mlflow => "MLflow",
            Tag::Docs => "Documentation",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Tag::Records => "Predictions from JSON records: one object of features per row.",
            Tag::Health => "Server health and what every model takes and returns.",
            Tag::V2 => {
                "KServe V2 / Open Inference Protocol: server and model health, metadata, and tensor inference (JSON, or Triton's binary tensor data). Works with `tritonclient[http]`."
            }
            Tag::V1 => {
                "TensorFlow Serving / KServe V1 REST: rows (`instances`) or columns (`inputs`)."
            }
            Tag::Mlflow => {
                "The scoring API of `mlflow models serve`, for clients moving from MLflow. `/invocations` and `/ping` answer for the server's default model (`--default-model`)."
            }
            Tag::Docs => "This documentation: the OpenAPI document and the page that shows it.",
        }
    }
}

const TOO_LARGE: Reply = Reply::Error {
    status: 413,
    description: "The body is larger than the server's limit (`--max-body-bytes`).",
};
const NOT_JSON: Reply = Reply::Error {
    status: 415,
    description: "The Content-Type is not JSON.",
};
const MALFORMED: Reply = Reply::Error {
    status: 400,
    description: "The body is not JSON, or not the expected shape.",
};
const UNFIT: Reply = Reply::Error {
    status: 422,
    description: "A record does not fit the model: a feature is missing, unknown, of the wrong type or not finite. The message names it.",
};
const NO_MODEL: Reply = Reply::Error {
    status: 404,
    description: "No model of that name, or no such version.",
};
const NOT_READY: Reply = Reply::Error {
    status: 503,
    description: "The model (version) failed to load or is not loaded yet.",
};
const TIMEOUT: Reply = Reply::Error {
    status: 504,
    description: "The request took longer than the server's limit (`--request-timeout-secs`).",
};
const FAILED: Reply = Reply::Error {
    status: 500,
    description: "The runtime failed on valid input; the cause is in the server log.",
};

const METRICS: Reply = Reply::Text {
    status: 200,
    description: "The series in Prometheus's text exposition format.",
    media_types: &["text/plain; version=0.0.4; charset=utf-8"],
    example: "# HELP prediction_api_predictions_total Rows predicted.\n# TYPE prediction_api_predictions_total counter\nprediction_api_predictions_total{model=\"iris\",version=\"1\"} 3\n",
};
const PREDICT: Reply = Reply::Json {
    status: 200,
    description: "One prediction for a record; an array in request order for an array.",
    schema: schema::<PredictResponse>,
    example: ex::predict_response,
};
const V1_PREDICT: Reply = Reply::Json {
    status: 200,
    description: "`predictions` (one per instance) for rows, `outputs` for columns.",
    schema: schema::<V1PredictResponse>,
    example: ex::v1_predict_response,
};
const V1_STATUS: Reply = Reply::Json {
    status: 200,
    description: "The state of the model's versions.",
    schema: schema::<V1ModelStatus>,
    example: ex::v1_status,
};
const V1_METADATA: Reply = Reply::Json {
    status: 200,
    description: "The model's signature as TF-Serving writes it: one signature, `serving_default`, with every input and output (sizes are strings; -1 is dynamic).",
    schema: schema::<crate::http::v1::MetadataResponse>,
    example: ex::v1_metadata,
};
const MLFLOW: Reply = Reply::Json {
    status: 200,
    description: "One prediction per row, in order.",
    schema: schema::<MlflowResponse>,
    example: ex::mlflow_response,
};
const V2_METADATA: Reply = Reply::Json {
    status: 200,
    description: "The model's versions and tensor signature.",
    schema: schema::<V2ModelMetadata>,
    example: ex::v2_model_metadata,
};
const STATS_DESCRIPTION: &str = "Triton's statistics extension: for every loaded version, rows predicted (`inference_count`), graph executions (`execution_count`, a coalesced batch is one), and counts with total nanoseconds of successful and failed requests, of the wait for a session, and of the executions (`compute_infer`). Totals start when a version is loaded; Prometheus has the same facts as histograms at `/metrics`.";
const V2_CONFIG: Reply = Reply::Json {
    status: 200,
    description: "The model's configuration as Triton's model configuration writes it (`dims` leave out the batch dimension when `max_batch_size` is above 0).",
    schema: schema::<crate::http::v2::ModelConfigResponse>,
    example: ex::v2_model_config,
};
const V2_STATS: Reply = Reply::Json {
    status: 200,
    description: "Each loaded version's totals since it was loaded, as Triton's statistics extension writes them.",
    schema: schema::<crate::http::v2::ModelStatsResponse>,
    example: ex::v2_model_stats,
};
const V2_READY: Reply = Reply::Json {
    status: 200,
    description: "The model can serve.",
    schema: schema::<V2ModelReady>,
    example: || serde_json::json!({"name": "iris", "ready": true}),
};
const V2_NOT_READY: Reply = Reply::Json {
    status: 400,
    description: "The model failed to load or is not loaded yet (V2 clients test the status only).",
    schema: schema::<V2ModelReady>,
    example: || serde_json::json!({"name": "iris", "ready": false, "error": "model `iris` has no version that loaded"}),
};
const V2_INFER: Reply = Reply::Json {
    status: 200,
    description: "The output tensors, flat and row-major; binary ones follow the JSON when asked for.",
    schema: schema::<InferenceResponse>,
    example: ex::v2_infer_response,
};
const V2_INFER_ERROR: Reply = Reply::Error {
    status: 400,
    description: "Malformed body, unknown input or output, wrong datatype, or a shape that does not match the data or the model.",
};
const V2_INFER_REPLIES: [Reply; 8] = [
    V2_INFER,
    V2_INFER_ERROR,
    NO_MODEL,
    TOO_LARGE,
    NOT_JSON,
    NOT_READY,
    TIMEOUT,
    FAILED,
];

const V2_INFER_BODY: Body = Body {
    schema: schema::<InferenceRequest>,
    description: "Input tensors, and optionally which outputs to return and how. With Triton's binary tensor data extension the body is the JSON followed by raw tensor bytes.",
    required: true,
    binary: true,
    examples: ex::v2_infer,
};
const V1_PREDICT_BODY: Body = Body {
    schema: schema::<V1PredictRequest>,
    description: "The rows or columns to score.",
    required: true,
    binary: false,
    examples: ex::v1_predict,
};
const MLFLOW_BODY: Body = Body {
    schema: schema::<MlflowRequest>,
    description: "The rows to score.",
    required: true,
    binary: false,
    examples: ex::mlflow,
};

const NO_TOKEN: Reply = Reply::Error {
    status: 401,
    description: "No `Authorization: Bearer <ADMIN_TOKEN>` header.",
};
const BAD_TOKEN: Reply = Reply::Error {
    status: 403,
    description: "A wrong token, or the repository API is disabled (no `--admin-token`); the message says how to enable it.",
};
const LOADED: Reply = Reply::Empty {
    status: 200,
    description: "Done: the model serves its new versions (or no longer serves), with an empty body.",
};
const LOAD_FAILED: Reply = Reply::Error {
    status: 400,
    description: "The model could not be loaded (the message says why: not an ONNX model, a refused graph, a bad `file:` name…), or load/unload is not allowed in this model control mode. What was serving still serves.",
};

const V2_PREDICT_DESCRIPTION: &str = "Runs the model on the given tensors. `shape` is the whole batch's shape and `data` holds its elements row-major (flat or nested). Omitted `outputs` means every output. Datatypes: BOOL, UINT8…UINT64, INT8…INT64, FP32, FP64, BYTES (strings) in JSON; FP16 and BF16 only as binary data.";

/// Every route of the server, in the order the docs page lists them within their tag.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: Method::Post,
        path: "/predict/{model}",
        id: "predict",
        tag: Tag::Records,
        summary: "Predict from one record or an array of records",
        description: "Send one JSON object of features to get one prediction, or an array of them to score a batch in one run of the model (answers in request order). An empty array answers `[]`. Numeric features take numbers, categorical ones strings; every input of the model must be present, and only those (see `GET /models/info`).",
        body: Some(Body {
            schema: schema::<PredictRequest>,
            description: "The features to score.",
            required: true,
            binary: false,
            examples: ex::predict,
        }),
        replies: &[
            PREDICT, MALFORMED, NO_MODEL, TOO_LARGE, NOT_JSON, UNFIT, NOT_READY, TIMEOUT, FAILED,
        ],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/health",
        id: "health",
        tag: Tag::Health,
        summary: "Server health and loaded models",
        description: "`healthy` when every model version on disk loaded, `degraded` otherwise; always 200 while the process serves.",
        body: None,
        replies: &[Reply::Json {
            status: 200,
            description: "Health, the loaded models and their versions, and the uptime.",
            schema: schema::<HealthResponse>,
            example: ex::health,
        }],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/models/info",
        id: "modelsInfo",
        tag: Tag::Health,
        summary: "Every model: versions, signature, metrics",
        description: "Every model and version, loaded or not: the input and output tensors, the class labels of classifiers, the trainer's metadata (task, features, evaluation metrics…) where the model has it, and why a version is unavailable.",
        body: None,
        replies: &[Reply::Json {
            status: 200,
            description: "The models, by name.",
            schema: schema::<ModelsInfo>,
            example: ex::models_info,
        }],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/metrics",
        id: "metrics",
        tag: Tag::Health,
        summary: "Prometheus metrics",
        description: "Every series in Prometheus's text format: HTTP requests by route template and status class, inference by model and version, model loads, the audit trail, feature drift and the process. The README lists the names.",
        body: None,
        replies: &[METRICS],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/metrics/prometheus",
        id: "metricsPrometheus",
        tag: Tag::Health,
        summary: "Prometheus metrics (alias)",
        description: "The same as `GET /metrics`, at the path the original service used.",
        body: None,
        replies: &[METRICS],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2",
        id: "v2ServerMetadata",
        tag: Tag::V2,
        summary: "Server metadata",
        description: "The server's name, version and protocol extensions.",
        body: None,
        replies: &[Reply::Json {
            status: 200,
            description: "Server metadata.",
            schema: schema::<ServerMetadata>,
            example: ex::server_metadata,
        }],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/health/live",
        id: "v2Live",
        tag: Tag::V2,
        summary: "Liveness",
        description: "200 while the process answers.",
        body: None,
        replies: &[Reply::Json {
            status: 200,
            description: "The server is live.",
            schema: schema::<LiveResponse>,
            example: || serde_json::json!({"live": true}),
        }],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/health/ready",
        id: "v2Ready",
        tag: Tag::V2,
        summary: "Readiness",
        description: "200 when every model version on disk loaded, 400 otherwise.",
        body: None,
        replies: &[
            Reply::Json {
                status: 200,
                description: "Every model is ready.",
                schema: schema::<ReadyResponse>,
                example: || serde_json::json!({"ready": true}),
            },
            Reply::Json {
                status: 400,
                description: "Some model version failed to load.",
                schema: schema::<ReadyResponse>,
                example: || serde_json::json!({"ready": false}),
            },
        ],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}",
        id: "v2ModelMetadata",
        tag: Tag::V2,
        summary: "Model metadata",
        description: "The versions, platform and tensor signature of the model's default (highest loaded) version. Dynamic dimensions are -1.",
        body: None,
        replies: &[V2_METADATA, NO_MODEL, NOT_READY],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}/versions/{version}",
        id: "v2ModelVersionMetadata",
        tag: Tag::V2,
        summary: "Model version metadata",
        description: "The tensor signature of one version of the model.",
        body: None,
        replies: &[V2_METADATA, NO_MODEL, NOT_READY],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}/config",
        id: "v2ModelConfig",
        tag: Tag::V2,
        summary: "Model configuration",
        description: "Triton's model configuration extension, read-only: the default (highest loaded) version's tensors with Triton's datatype names, its batch limit, dynamic batching and sessions, for clients that read it before sending (tritonclient's `get_model_config`, `perf_analyzer`).",
        body: None,
        replies: &[V2_CONFIG, NO_MODEL, NOT_READY],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}/versions/{version}/config",
        id: "v2ModelVersionConfig",
        tag: Tag::V2,
        summary: "Model version configuration",
        description: "The configuration of one version of the model.",
        body: None,
        replies: &[V2_CONFIG, NO_MODEL, NOT_READY],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/stats",
        id: "v2Stats",
        tag: Tag::V2,
        summary: "Statistics of every model",
        description: STATS_DESCRIPTION,
        body: None,
        replies: &[V2_STATS],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}/stats",
        id: "v2ModelStats",
        tag: Tag::V2,
        summary: "Statistics of a model",
        description: "The statistics of every loaded version of the model.",
        body: None,
        replies: &[V2_STATS, NO_MODEL],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}/versions/{version}/stats",
        id: "v2ModelVersionStats",
        tag: Tag::V2,
        summary: "Statistics of a model version",
        description: "The statistics of one loaded version.",
        body: None,
        replies: &[V2_STATS, NO_MODEL, NOT_READY],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}/ready",
        id: "v2ModelReady",
        tag: Tag::V2,
        summary: "Model readiness",
        description: "200 when the model's default version can serve.",
        body: None,
        replies: &[V2_READY, V2_NOT_READY, NO_MODEL],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v2/models/{name}/versions/{version}/ready",
        id: "v2ModelVersionReady",
        tag: Tag::V2,
        summary: "Model version readiness",
        description: "200 when this version of the model can serve.",
        body: None,
        replies: &[V2_READY, V2_NOT_READY, NO_MODEL],
        admin: false,
    },
    Operation {
        method: Method::Post,
        path: "/v2/models/{name}/infer",
        id: "v2Infer",
        tag: Tag::V2,
        summary: "Inference on tensors",
        description: V2_PREDICT_DESCRIPTION,
        body: Some(V2_INFER_BODY),
        replies: &V2_INFER_REPLIES,
        admin: false,
    },
    Operation {
        method: Method::Post,
        path: "/v2/models/{name}/versions/{version}/infer",
        id: "v2InferVersion",
        tag: Tag::V2,
        summary: "Inference on tensors, one version",
        description: V2_PREDICT_DESCRIPTION,
        body: Some(V2_INFER_BODY),
        replies: &V2_INFER_REPLIES,
        admin: false,
    },
    Operation {
        method: Method::Post,
        path: "/v2/repository/index",
        id: "repositoryIndex",
        tag: Tag::V2,
        summary: "Model repository index",
        description: "Reads the repository folder again and lists every model and version on disk or loaded, with its state (`READY`, `UNAVAILABLE`, `LOADING`) and why it is unavailable. The body may be empty.",
        body: Some(Body {
            schema: schema::<IndexRequest>,
            description: "Optional; `ready: true` lists only the ready versions.",
            required: false,
            binary: false,
            examples: ex::repository_index,
        }),
        replies: &[
            Reply::Json {
                status: 200,
                description: "One row per model version.",
                schema: schema::<Vec<IndexRow>>,
                example: ex::repository_index_response,
            },
            MALFORMED,
            NO_TOKEN,
            BAD_TOKEN,
        ],
        admin: true,
    },
    Operation {
        method: Method::Post,
        path: "/v2/repository/models/{name}/load",
        id: "repositoryLoad",
        tag: Tag::V2,
        summary: "Load or reload a model",
        description: "Loads every integer version of the model from its folder, or from the files in the request (`parameters.config` as a JSON string, `parameters[\"file:<version>/<name>\"]` as base64; they replace the model's folder). The new versions are loaded and warmed up while the old ones serve, then swapped in at once; requests in flight finish on the version they started with. A failed load changes nothing.",
        body: Some(Body {
            schema: schema::<ModelRequest>,
            description: "Optional: empty or `{}` loads from disk.",
            required: false,
            binary: false,
            examples: ex::repository_load,
        }),
        replies: &[
            LOADED,
            LOAD_FAILED,
            NO_TOKEN,
            BAD_TOKEN,
            Reply::Error {
                status: 404,
                description: "No folder of that name in the repository (and no files sent).",
            },
            Reply::Error {
                status: 413,
                description: "The body is larger than `--max-body-bytes`, or the decoded files than `--max-upload-bytes`.",
            },
            NOT_JSON,
        ],
        admin: true,
    },
    Operation {
        method: Method::Post,
        path: "/v2/repository/models/{name}/unload",
        id: "repositoryUnload",
        tag: Tag::V2,
        summary: "Unload a model",
        description: "New requests for the model get 404; requests in flight finish, then its sessions are dropped. The folder stays on disk.",
        body: Some(Body {
            schema: schema::<ModelRequest>,
            description: "Optional; `parameters.unload_dependents` is accepted and has no effect.",
            required: false,
            binary: false,
            examples: ex::repository_unload,
        }),
        replies: &[LOADED, LOAD_FAILED, NO_TOKEN, BAD_TOKEN, NO_MODEL],
        admin: true,
    },
    Operation {
        method: Method::Post,
        path: "/v1/models/{name}:predict",
        id: "v1Predict",
        tag: Tag::V1,
        summary: "Predict (TF-Serving row or column format)",
        description: "`{\"instances\": [record, …]}` answers `{\"predictions\": [one per instance]}`; `{\"inputs\": {feature: [values…]}}` answers `{\"outputs\": …}`. The `:predict` verb is part of the path.",
        body: Some(V1_PREDICT_BODY),
        replies: &[
            V1_PREDICT, MALFORMED, NO_MODEL, TOO_LARGE, NOT_JSON, UNFIT, NOT_READY, TIMEOUT, FAILED,
        ],
        admin: false,
    },
    Operation {
        method: Method::Post,
        path: "/v1/models/{name}/versions/{version}:predict",
        id: "v1PredictVersion",
        tag: Tag::V1,
        summary: "Predict with one version",
        description: "As `POST /v1/models/{name}:predict`, with the version named.",
        body: Some(V1_PREDICT_BODY),
        replies: &[
            V1_PREDICT, MALFORMED, NO_MODEL, TOO_LARGE, NOT_JSON, UNFIT, NOT_READY, TIMEOUT, FAILED,
        ],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v1/models/{name}",
        id: "v1ModelStatus",
        tag: Tag::V1,
        summary: "Model status",
        description: "The state of every version of the model: `AVAILABLE`, or `END` with the load error.",
        body: None,
        replies: &[V1_STATUS, NO_MODEL],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v1/models/{name}/versions/{version}",
        id: "v1ModelVersionStatus",
        tag: Tag::V1,
        summary: "Model version status",
        description: "The state of one version of the model.",
        body: None,
        replies: &[V1_STATUS, NO_MODEL],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v1/models/{name}/metadata",
        id: "v1ModelMetadata",
        tag: Tag::V1,
        summary: "Model signature (TF-Serving metadata)",
        description: "The newest loaded version's inputs and outputs, with TensorFlow's type names, for clients that read TF-Serving's `GetModelMetadata`.",
        body: None,
        replies: &[V1_METADATA, NO_MODEL, NOT_READY],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/v1/models/{name}/versions/{version}/metadata",
        id: "v1ModelVersionMetadata",
        tag: Tag::V1,
        summary: "Model version signature",
        description: "As `GET /v1/models/{name}/metadata`, for the version named.",
        body: None,
        replies: &[V1_METADATA, NO_MODEL, NOT_READY],
        admin: false,
    },
    Operation {
        method: Method::Post,
        path: "/invocations",
        id: "mlflowInvocations",
        tag: Tag::Mlflow,
        summary: "Score rows with the default model",
        description: "MLflow's scoring request: a pandas DataFrame as `dataframe_split` or `dataframe_records`, or TF-Serving style `instances` or `inputs`. A CSV table is taken too (`Content-Type: text/csv`, a header line of feature names). Answers for the model named by `--default-model`.",
        body: Some(MLFLOW_BODY),
        replies: &[
            MLFLOW, MALFORMED, NO_MODEL, TOO_LARGE, NOT_JSON, UNFIT, NOT_READY, TIMEOUT, FAILED,
        ],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/ping",
        id: "mlflowPing",
        tag: Tag::Mlflow,
        summary: "MLflow health check",
        description: "200 when the default model can serve.",
        body: None,
        replies: &[
            Reply::Empty {
                status: 200,
                description: "The default model can serve.",
            },
            NO_MODEL,
            NOT_READY,
        ],
        admin: false,
    },
    Operation {
        method: Method::Post,
        path: "/v1/models/{name}/invocations",
        id: "mlflowModelInvocations",
        tag: Tag::Mlflow,
        summary: "Score rows with a named model",
        description: "As `POST /invocations`, for the model named in the path.",
        body: Some(MLFLOW_BODY),
        replies: &[
            MLFLOW, MALFORMED, NO_MODEL, TOO_LARGE, NOT_JSON, UNFIT, NOT_READY, TIMEOUT, FAILED,
        ],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/openapi.json",
        id: "openapi",
        tag: Tag::Docs,
        summary: "This API as OpenAPI 3.1",
        description: "The OpenAPI 3.1 document this page is built from; its schemas are JSON Schema 2020-12, generated from the server's types.",
        body: None,
        replies: &[Reply::Json {
            status: 200,
            description: "The OpenAPI document.",
            schema: schema::<Map<String, Value>>,
            example: || serde_json::json!({"openapi": "3.1.0", "info": {"title": "prediction-api", "version": env!("CARGO_PKG_VERSION")}, "paths": {}}),
        }],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/docs",
        id: "docs",
        tag: Tag::Docs,
        summary: "This page",
        description: "A page to read and try the API. It works offline: everything it needs is served by this server.",
        body: None,
        replies: &[Reply::Text {
            status: 200,
            description: "The HTML page.",
            media_types: &["text/html; charset=utf-8"],
            example: "<!doctype html>…",
        }],
        admin: false,
    },
    Operation {
        method: Method::Get,
        path: "/docs/{file}",
        id: "docsAsset",
        tag: Tag::Docs,
        summary: "A file of this page",
        description: "The page's stylesheet and script.",
        body: None,
        replies: &[
            Reply::Text {
                status: 200,
                description: "The file.",
                media_types: &["text/css; charset=utf-8", "text/javascript; charset=utf-8"],
                example: "…",
            },
            Reply::Error {
                status: 404,
                description: "No such file.",
            },
        ],
        admin: false,
    },
];
