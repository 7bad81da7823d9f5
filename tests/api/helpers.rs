//! `TestApp`: a real server on an ephemeral loopback port, and a client for it.

use std::path::{Path, PathBuf};

use prediction_api::app::Application;
use prediction_api::config::Config;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The committed model repository.
pub fn committed_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

impl TestApp {
    /// Serves the committed models.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Config::for_tests(committed_models())).await
    }

    /// Serves with `config` (its port should be 0).
    pub async fn spawn_with(config: Config) -> TestApp {
        init_logs();
        let app = Application::build(&config)
            .await
            .expect("the server builds");
        let address = format!("http://{}", app.local_addr().expect("bound"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            client: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .body(body)
            .send()
            .await
            .expect("POST")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Logs only when TEST_LOG is set, so test output stays readable.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
        }
    });
}

/// Reads a JSON response, asserting its status first.
pub async fn json_with_status(response: reqwest::Response, status: u16) -> serde_json::Value {
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// One valid iris record.
pub fn iris_record() -> serde_json::Value {
    serde_json::json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
}

/// One valid housing record (the first row of the raw data).
pub fn housing_record() -> serde_json::Value {
    serde_json::json!({
        "lotSize": 0.09, "age": 42, "landValue": 50000, "livingArea": 906, "pctCollege": 35,
        "bedrooms": 2, "fireplaces": 1, "bathrooms": 1.0, "rooms": 5, "heating": "electric",
        "fuel": "electric", "sewer": "septic", "waterfront": "No", "newConstruction": "No",
        "centralAir": "No"
    })
}

/// The iris model's inputs, in the order of [`post_iris_binary`]'s rows.
pub const IRIS_FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

/// Posts iris rows to the iris model as Triton binary data (four FP32 `[N, 1]` inputs);
/// `binary_answer` asks for binary outputs too.
pub async fn post_iris_binary(
    app: &TestApp,
    rows: &[[f32; 4]],
    binary_answer: bool,
) -> reqwest::Response {
    let mut tail = Vec::new();
    let inputs: Vec<serde_json::Value> = IRIS_FEATURES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let bytes: Vec<u8> = rows.iter().flat_map(|r| r[i].to_le_bytes()).collect();
            tail.extend_from_slice(&bytes);
            serde_json::json!({"name": name, "datatype": "FP32", "shape": [rows.len(), 1],
                               "parameters": {"binary_data_size": bytes.len()}})
        })
        .collect();
    let header = serde_json::json!({"inputs": inputs,
                                    "parameters": {"binary_data_output": binary_answer}});
    let mut body = serde_json::to_vec(&header).expect("JSON");
    let length = body.len();
    body.extend_from_slice(&tail);
    app.client
        .post(app.url("/v2/models/iris/infer"))
        .header("Inference-Header-Content-Length", length)
        .body(body)
        .send()
        .await
        .expect("POST")
}
