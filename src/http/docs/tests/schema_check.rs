//! A JSON Schema validator for the keywords schemars emits here: enough to check that the
//! document's examples fit their schemas.

use serde_json::Value;

use super::{document, lookup};

/// A JSON Schema validator for the keywords schemars emits here (enough to check examples).
pub fn validate(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    let Some(schema) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{at}: no value is allowed"));
        }
        return;
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        match lookup(document, reference) {
            Some(target) => validate(document, target, value, at, errors),
            None => errors.push(format!("{at}: unresolved {reference}")),
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::Array(t) => t.iter().filter_map(Value::as_str).collect(),
            t => t.as_str().into_iter().collect(),
        };
        if !types.iter().any(|t| has_type(value, t)) {
            errors.push(format!("{at}: {value} is not {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        errors.push(format!("{at}: {value} is not {expected}"));
    }
    if let (Some(minimum), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < minimum
    {
        errors.push(format!("{at}: {n} < {minimum}"));
    }
    for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(variants) = schema.get(keyword).and_then(Value::as_array) {
            let passing = variants
                .iter()
                .filter(|v| {
                    let mut e = Vec::new();
                    validate(document, v, value, at, &mut e);
                    e.is_empty()
                })
                .count();
            if passing == 0 || (exactly_one && passing > 1) {
                errors.push(format!(
                    "{at}: {passing} of the {keyword} variants fit {value}"
                ));
            }
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(document, s, value, at, errors);
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            validate(document, items, v, &format!("{at}/{i}"), errors);
        }
    }
    if let Some(fields) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !required.as_str().is_some_and(|r| fields.contains_key(r)) {
                errors.push(format!("{at}: missing required {required}"));
            }
        }
        for (key, v) in fields {
            let at = format!("{at}/{key}");
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => validate(document, s, v, &at, errors),
                (None, Some(extra)) => validate(document, extra, v, &at, errors),
                (None, None) => {}
            }
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

#[test]
fn the_validator_rejects_what_does_not_fit() {
    let document = document();
    let schema = serde_json::json!({"$ref": "#/components/schemas/ErrorResponse"});
    let mut errors = Vec::new();
    validate(
        &document,
        &schema,
        &serde_json::json!({"error": "x", "code": "nope"}),
        "",
        &mut errors,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.clear();
    validate(
        &document,
        &schema,
        &serde_json::json!({"error": 1}),
        "",
        &mut errors,
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
}
