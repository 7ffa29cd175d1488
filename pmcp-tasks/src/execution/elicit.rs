//! Typed elicitation: a form generated from a Rust type, restricted to what
//! MCP elicitation allows (a flat object of strings, numbers, booleans and
//! enums), and the client's answer read back into that type.

use super::context::TaskContext;
use crate::error::TaskError;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// What the client answered to [`TaskContext::elicit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elicited<T> {
    /// The user filled in the form.
    Accepted(T),
    /// The user said no.
    Declined,
    /// The user dismissed the form without choosing.
    Cancelled,
}

impl<T> Elicited<T> {
    /// The form's content, if the user accepted.
    pub fn accepted(self) -> Option<T> {
        match self {
            Elicited::Accepted(value) => Some(value),
            Elicited::Declined | Elicited::Cancelled => None,
        }
    }
}

impl TaskContext {
    /// Asks the user to fill in a form for a `T` and waits for the answer.
    ///
    /// The form is `T`'s JSON schema, which must be what MCP elicitation
    /// allows: a struct whose fields are strings, numbers, booleans, enums
    /// of strings (unit variants), lists of such enums, or `Option`s of
    /// these. Doc comments become the fields' descriptions. A type outside
    /// that is refused with [`TaskError::Form`] naming the field, before
    /// anything is sent.
    ///
    /// Questions are keyed in the order the body asks them (`elicit-1`,
    /// `elicit-2`, ...), so a body that runs again after a restart gets the
    /// stored answers back; use [`elicit_keyed`](Self::elicit_keyed) when the
    /// order can vary. An answer that does not fit `T` is
    /// [`TaskError::Answer`].
    ///
    /// A client that declared no elicitation capability (such as the MCP
    /// Inspector's CLI) could never answer: then nothing is sent and this
    /// fails at once with [`TaskError::ClientCannotAnswer`], which the tool
    /// can match to fall back (a default, a task variable) or return with
    /// `?`, failing the task with a message saying why.
    ///
    /// ```no_run
    /// # async fn f(ctx: pmcp_tasks::TaskContext) -> Result<(), pmcp_tasks::ToolError> {
    /// use pmcp_tasks::Elicited;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Approval {
    ///     /// Whether to go ahead.
    ///     approve: bool,
    ///     /// Why (optional).
    ///     reason: Option<String>,
    /// }
    ///
    /// match ctx.elicit::<Approval>("Publish the report?").await? {
    ///     Elicited::Accepted(a) if a.approve => { /* publish */ }
    ///     _ => return Err(pmcp_tasks::ToolError::new("not approved")),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn elicit<T: JsonSchema + DeserializeOwned>(
        &self,
        message: &str,
    ) -> Result<Elicited<T>, TaskError> {
        let key = format!("elicit-{}", self.next_question());
        self.elicit_keyed(&key, message).await
    }

    /// As [`elicit`](Self::elicit), under a `key` of your choosing (unique
    /// over the task's life).
    pub async fn elicit_keyed<T: JsonSchema + DeserializeOwned>(
        &self,
        key: &str,
        message: &str,
    ) -> Result<Elicited<T>, TaskError> {
        let schema = form_schema::<T>().map_err(|reason| TaskError::Form {
            type_name: std::any::type_name::<T>(),
            reason,
        })?;
        let answer = self.elicit_form(key, message, schema).await?;
        match answer.action.as_str() {
            "accept" => {
                let content = Value::Object(answer.content.unwrap_or_default());
                serde_json::from_value(content)
                    .map(Elicited::Accepted)
                    .map_err(|source| TaskError::Answer {
                        key: key.to_owned(),
                        source,
                    })
            }
            "decline" => Ok(Elicited::Declined),
            _ => Ok(Elicited::Cancelled),
        }
    }
}

/// The `requestedSchema` of a form for `T`, or why `T` cannot be one.
pub(crate) fn form_schema<T: JsonSchema>() -> Result<Value, String> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).map_err(|e| e.to_string())?;
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let root = resolve(&schema, &defs);
    if root.get("type") != Some(&json!("object")) {
        return Err("a form is a struct with named fields".into());
    }
    let mut properties = Map::new();
    if let Some(fields) = root.get("properties").and_then(Value::as_object) {
        for (name, field) in fields {
            let field = primitive(&resolve(field, &defs), &defs)
                .map_err(|why| format!("field `{name}` {why}"))?;
            properties.insert(name.clone(), field);
        }
    }
    let mut form = json!({"type": "object", "properties": properties});
    if let Some(required) = root.get("required") {
        form["required"] = required.clone();
    }
    Ok(form)
}

/// `schema` with a `$ref` into `defs` replaced by its target, and an
/// `Option`'s `null` alternative dropped.
fn resolve(schema: &Value, defs: &Value) -> Value {
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        let mut resolved = resolve(&defs[target], defs);
        copy_notes(schema, &mut resolved);
        return resolved;
    }
    // `Option<T>`: `anyOf: [T, {type: null}]`, or `type: [t, "null"]`.
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
        let not_null: Vec<&Value> = options
            .iter()
            .filter(|o| o.get("type") != Some(&json!("null")))
            .collect();
        if let [only] = not_null.as_slice() {
            let mut resolved = resolve(only, defs);
            copy_notes(schema, &mut resolved);
            return resolved;
        }
    }
    let mut out = schema.clone();
    if let Some(types) = schema.get("type").and_then(Value::as_array) {
        let not_null: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
        if let [only] = not_null.as_slice() {
            out["type"] = (*only).clone();
        }
    }
    out
}

/// Keeps the title, description and default written at the use site.
fn copy_notes(from: &Value, to: &mut Value) {
    for key in ["title", "description", "default"] {
        if let Some(value) = from.get(key) {
            to[key] = value.clone();
        }
    }
}

/// One field of a form, in the subset MCP elicitation allows.
fn primitive(field: &Value, defs: &Value) -> Result<Value, String> {
    let mut out = Map::new();
    for key in ["title", "description"] {
        if let Some(text) = field.get(key).filter(|v| v.is_string()) {
            out.insert(key.into(), text.clone());
        }
    }
    let keep = |out: &mut Map<String, Value>, keys: &[&str]| {
        for key in keys {
            if let Some(value) = field.get(*key) {
                out.insert((*key).into(), value.clone());
            }
        }
    };
    if let Some(options) = string_options(field) {
        out.insert("type".into(), json!("string"));
        out.insert(options.0.into(), options.1);
        keep(&mut out, &["default"]);
        return Ok(Value::Object(out));
    }
    match field.get("type").and_then(Value::as_str) {
        Some("string") => {
            out.insert("type".into(), json!("string"));
            keep(&mut out, &["minLength", "maxLength", "default"]);
            if let Some(format) = field.get("format").and_then(Value::as_str) {
                if ["date", "date-time", "email", "uri"].contains(&format) {
                    out.insert("format".into(), json!(format));
                }
            }
        }
        Some(kind @ ("integer" | "number")) => {
            out.insert("type".into(), json!(kind));
            keep(&mut out, &["minimum", "maximum", "default"]);
        }
        Some("boolean") => {
            out.insert("type".into(), json!("boolean"));
            keep(&mut out, &["default"]);
        }
        Some("array") => {
            let items = resolve(field.get("items").unwrap_or(&Value::Null), defs);
            let Some((kind, options)) = string_options(&items) else {
                return Err(
                    "is a list of something other than an enum of strings: a form \
                            list can only offer a choice of strings"
                        .into(),
                );
            };
            let items_key = if kind == "oneOf" { "anyOf" } else { kind };
            out.insert("type".into(), json!("array"));
            out.insert(
                "items".into(),
                json!({"type": "string", items_key: options}),
            );
            keep(&mut out, &["minItems", "maxItems", "default"]);
        }
        Some("object") => {
            return Err(
                "is a nested object: a form's fields can only be strings, numbers, \
                        booleans and enums"
                    .into(),
            )
        }
        _ => {
            return Err(
                "has no single primitive type (is it an enum with data, or untyped?): \
                        a form's fields can only be strings, numbers, booleans and enums"
                    .into(),
            )
        }
    }
    Ok(Value::Object(out))
}

/// A choice among strings: `("enum", [..])`, or `("oneOf", [{const,
/// title}..])` when the variants carry descriptions.
fn string_options(field: &Value) -> Option<(&'static str, Value)> {
    if let Some(values) = field.get("enum").and_then(Value::as_array) {
        // An inlined `Option<Enum>` lists `null` among its values.
        let values: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
        return values
            .iter()
            .all(Value::is_string)
            .then(|| ("enum", Value::Array(values)));
    }
    // Documented variants come one per entry (`const` and its
    // description); undocumented ones share one entry's `enum`.
    let variants = field.get("oneOf").and_then(Value::as_array)?;
    let mut titled = Vec::new();
    for variant in variants {
        let title = variant.get("description").or_else(|| variant.get("title"));
        let values: Vec<&Value> = match (variant.get("const"), variant.get("enum")) {
            (Some(one), _) => vec![one],
            (None, Some(Value::Array(many))) => many.iter().collect(),
            _ => return None,
        };
        for value in values {
            if !value.is_string() {
                return None;
            }
            titled.push(json!({"const": value, "title": title.unwrap_or(value)}));
        }
    }
    Some(("oneOf", Value::Array(titled)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    enum Size {
        Small,
        Large,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    enum Colour {
        /// Like the sky
        Blue,
        /// Like grass
        Green,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    enum Priority {
        Low,
        Medium,
        /// Drop everything
        High,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Order {
        /// Who orders.
        name: String,
        email: Option<String>,
        count: u64,
        ratio: f32,
        gift: bool,
        size: Size,
        colour: Option<Colour>,
        extras: Vec<Size>,
        priority: Priority,
    }

    #[test]
    fn a_flat_struct_becomes_a_form_without_foreign_formats() {
        let form = form_schema::<Order>().unwrap();
        let p = &form["properties"];
        assert_eq!(
            p["name"],
            json!({"type": "string", "description": "Who orders."})
        );
        assert_eq!(p["email"], json!({"type": "string"}));
        assert_eq!(p["count"]["type"], "integer");
        assert!(
            p["count"].get("format").is_none(),
            "no uint64: {}",
            p["count"]
        );
        assert_eq!(p["ratio"]["type"], "number");
        assert_eq!(p["gift"], json!({"type": "boolean"}));
        assert_eq!(
            p["size"],
            json!({"type": "string", "enum": ["Small", "Large"]})
        );
        assert_eq!(
            p["colour"]["oneOf"],
            json!([{"const": "Blue", "title": "Like the sky"}, {"const": "Green", "title": "Like grass"}])
        );
        assert_eq!(
            p["priority"]["oneOf"],
            json!([{"const": "Low", "title": "Low"}, {"const": "Medium", "title": "Medium"},
                   {"const": "High", "title": "Drop everything"}]),
            "every variant, documented or not"
        );
        assert_eq!(
            p["extras"],
            json!({"type": "array", "items": {"type": "string", "enum": ["Small", "Large"]}})
        );
        let required: Vec<&str> = form["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(required.contains(&"name") && !required.contains(&"email"));
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Nested {
        ok: bool,
        address: Order,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Listy {
        names: Vec<String>,
    }

    #[test]
    fn what_a_form_cannot_hold_is_refused_naming_the_field() {
        let nested = form_schema::<Nested>().unwrap_err();
        assert!(
            nested.starts_with("field `address` is a nested object"),
            "{nested}"
        );
        let listy = form_schema::<Listy>().unwrap_err();
        assert!(listy.starts_with("field `names` is a list"), "{listy}");
        let scalar = form_schema::<u32>().unwrap_err();
        assert!(scalar.contains("struct"), "{scalar}");
    }
}
