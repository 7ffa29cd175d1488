//! The JSON-RPC layer in front of pmcp: serves the task surface of both
//! eras and hands every other request to pmcp's `ServerCore`.

use super::server::{AnonymousPolicy, Session, TaskServer, SUPPORTED_PROTOCOL_VERSIONS};
use super::wire::{self, code};
use crate::domain::{DomainError, Era, NewTask, RpcError, TaskOutcome, TaskRecord};
use crate::execution::{StartError, TaskContext};
use crate::store::{StoreError, UpdateError};
use crate::tool::{TaskSupport, TaskTool};
use pmcp::server::auth::AuthContext;
use pmcp::server::core::ProtocolHandler;
use pmcp::types::JSONRPCRequest;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The era of one request and whether it declared the Tasks extension.
#[derive(Debug, Clone, Copy)]
pub(super) struct RequestEra {
    pub(super) era: Era,
    pub(super) tasks_extension: bool,
}

pub(super) fn invalid_params(message: impl Into<String>) -> RpcError {
    RpcError::new(code::INVALID_PARAMS, message)
}

fn method_not_found(message: impl Into<String>) -> RpcError {
    RpcError::new(code::METHOD_NOT_FOUND, message)
}

fn missing_tasks_extension(what: &str) -> RpcError {
    RpcError {
        code: code::MISSING_REQUIRED_CLIENT_CAPABILITY,
        message: format!(
            "Missing required client capability: {what} needs the client to declare the \
             '{}' extension in _meta['{}'].extensions",
            wire::TASKS_EXTENSION,
            wire::CLIENT_CAPABILITIES_KEY
        ),
        data: Some(json!({
            "requiredCapabilities": {"extensions": {wire::TASKS_EXTENSION: {}}}
        })),
    }
}

pub(super) fn task_not_found(id: &str) -> RpcError {
    invalid_params(format!(
        "Task not found: no task '{id}' for this caller (it may never have existed, belong to \
         someone else, or have expired)"
    ))
}

/// The one place where store and runtime failures become JSON-RPC errors.
pub(super) fn store_error(e: StoreError, id: &str) -> RpcError {
    match e {
        StoreError::NotFound => task_not_found(id),
        StoreError::InvalidCursor => invalid_params(
            "Invalid cursor: pass the nextCursor of an earlier tasks/list answer unchanged",
        ),
        StoreError::LimitExceeded { active, limit } => RpcError::new(
            code::INTERNAL_ERROR,
            format!(
                "Too many unfinished tasks: this caller has {active} and the limit is {limit}; \
                 wait for some to finish or cancel them"
            ),
        ),
        other => RpcError::new(
            code::INTERNAL_ERROR,
            format!("Task storage failed: {other}"),
        ),
    }
}

pub(super) fn update_error(e: UpdateError, id: &str) -> RpcError {
    match e {
        UpdateError::Store(s) => store_error(s, id),
        UpdateError::Domain(DomainError::Terminal(status)) => invalid_params(format!(
            "Cannot cancel task: already in terminal status '{status}'"
        )),
        UpdateError::Domain(d) => invalid_params(d.to_string()),
    }
}

pub(super) fn start_error(e: StartError) -> RpcError {
    match e {
        StartError::ShuttingDown => RpcError::new(
            code::INTERNAL_ERROR,
            "The server is shutting down and accepts no new tasks; retry on another instance",
        ),
        StartError::Store(s) => store_error(s, ""),
    }
}

fn task_id_param<'a>(method: &str, params: &'a Map<String, Value>) -> Result<&'a str, RpcError> {
    params
        .get("taskId")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_params(format!("{method} needs params.taskId, a string")))
}

/// Adds what every 2026-07-28 result carries: `resultType` (unless set)
/// and the server's identity under `_meta`.
pub(super) fn envelope_2026(result: &mut Value, server_info: &Value) {
    if let Some(object) = result.as_object_mut() {
        object
            .entry("resultType")
            .or_insert_with(|| json!("complete"));
        wire::meta_mut(object)
            .entry(wire::SERVER_INFO_KEY)
            .or_insert_with(|| server_info.clone());
    }
}

impl TaskServer {
    /// Handles one incoming JSON-RPC message. Returns the response to a
    /// request, and `None` for a notification.
    pub(crate) async fn handle_message(
        &self,
        message: Value,
        session: &Session,
        auth: Option<AuthContext>,
    ) -> Option<Value> {
        let Value::Object(object) = message else {
            return Some(wire::error_response(
                &Value::Null,
                &RpcError::new(
                    code::INVALID_REQUEST,
                    "Invalid request: a JSON-RPC message must be an object",
                ),
            ));
        };
        let id = object.get("id").cloned();
        let method = object
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (id, method) = match (id, method) {
            (None, Some(_)) => {
                self.handle_notification(Value::Object(object)).await;
                return None;
            }
            (Some(id), Some(method)) if object.get("jsonrpc") == Some(&json!("2.0")) => {
                (id, method)
            }
            (id, _) => {
                if object.contains_key("result") || object.contains_key("error") {
                    // A response to a request we did not send (or sent and
                    // forgot): nothing to answer.
                    return None;
                }
                return Some(wire::error_response(
                    &id.unwrap_or(Value::Null),
                    &RpcError::new(
                        code::INVALID_REQUEST,
                        "Invalid request: needs \"jsonrpc\": \"2.0\", a \"method\" string and an \"id\"",
                    ),
                ));
            }
        };
        let params = match object.get("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => {
                return Some(wire::error_response(
                    &id,
                    &invalid_params("params must be an object"),
                ));
            }
        };
        let era = match self.request_era(&params, session) {
            Ok(era) => era,
            Err(e) => return Some(wire::error_response(&id, &e)),
        };
        let outcome = self
            .route(&method, &params, era, session, auth, Value::Object(object))
            .await;
        Some(match outcome {
            Ok(mut result) => {
                if era.era == Era::V2026_07_28 {
                    envelope_2026(&mut result, &self.inner.server_info);
                }
                wire::response(&id, result)
            }
            Err(Routed::Error(e)) => wire::error_response(&id, &e),
            Err(Routed::Response(response)) => response,
        })
    }

    async fn handle_notification(&self, message: Value) {
        match pmcp::shared::parse_notification(message) {
            Ok(notification) => {
                if let Err(e) = self.inner.core.handle_notification(notification).await {
                    tracing::debug!(error = %e, "notification handler failed");
                }
            }
            Err(e) => tracing::debug!(error = %e, "ignoring an unknown notification"),
        }
    }

    /// Which era a request speaks: its own `_meta` protocol version
    /// (2026-07-28 style), else the version its connection negotiated.
    fn request_era(
        &self,
        params: &Map<String, Value>,
        session: &Session,
    ) -> Result<RequestEra, RpcError> {
        let meta = match params.get("_meta") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return Err(invalid_params("_meta must be an object")),
        };
        let declared = meta.and_then(|m| m.get(wire::PROTOCOL_VERSION_KEY));
        let era = match declared {
            None => session
                .negotiated()
                .map_or(Era::V2025_11_25, |v| Era::from_protocol_version(&v)),
            Some(Value::String(v)) if SUPPORTED_PROTOCOL_VERSIONS.contains(&v.as_str()) => {
                Era::from_protocol_version(v)
            }
            Some(other) => {
                let requested = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned);
                return Err(RpcError {
                    code: code::UNSUPPORTED_PROTOCOL_VERSION,
                    message: format!(
                        "Unsupported protocol version {requested}; this server speaks {}",
                        SUPPORTED_PROTOCOL_VERSIONS.join(", ")
                    ),
                    data: Some(
                        json!({"supported": SUPPORTED_PROTOCOL_VERSIONS, "requested": requested}),
                    ),
                });
            }
        };
        let tasks_extension = meta
            .and_then(|m| m.get(wire::CLIENT_CAPABILITIES_KEY))
            .and_then(|c| c.get("extensions"))
            .and_then(|e| e.get(wire::TASKS_EXTENSION))
            .is_some();
        Ok(RequestEra {
            era,
            tasks_extension,
        })
    }

    /// The owner of the caller's tasks (see [`AnonymousPolicy`]).
    pub(super) fn owner(&self, auth: Option<&AuthContext>) -> Result<String, RpcError> {
        match auth {
            Some(a) if a.authenticated && !a.subject.is_empty() => Ok(format!("user:{}", a.subject)),
            _ => match &self.inner.anonymous {
                AnonymousPolicy::Shared(name) => Ok(format!("anon:{name}")),
                AnonymousPolicy::Reject => Err(RpcError::new(
                    code::AUTHENTICATION_REQUIRED,
                    "Authentication required: this server only runs tasks for authenticated callers",
                )),
            },
        }
    }

    async fn route(
        &self,
        method: &str,
        params: &Map<String, Value>,
        era: RequestEra,
        session: &Session,
        auth: Option<AuthContext>,
        raw: Value,
    ) -> Result<Value, Routed> {
        match method {
            "ping" => Ok(json!({})),
            "server/discover" => Ok(self.discover()),
            "initialize" => {
                let mut response = self.forward(raw, auth).await?;
                if let Some(result) = response.get_mut("result") {
                    if let Some(v) = result.get("protocolVersion").and_then(Value::as_str) {
                        session.set_negotiated(v.to_owned());
                    }
                    result["capabilities"]["tasks"] = json!({
                        "list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}
                    });
                    if !self.inner.workflows.is_empty()
                        && result["capabilities"].get("prompts").is_none()
                    {
                        result["capabilities"]["prompts"] = json!({});
                    }
                }
                Err(Routed::Response(response))
            }
            "tools/list" => {
                let mut response = self.forward(raw, auth).await?;
                if let Some(result) = response.get_mut("result") {
                    self.patch_tools_list(result, era.era);
                    if era.era == Era::V2026_07_28 {
                        result["ttlMs"] = json!(0);
                        result["cacheScope"] = json!("private");
                        envelope_2026(result, &self.inner.server_info);
                    }
                }
                Err(Routed::Response(response))
            }
            "prompts/list" if !self.inner.workflows.is_empty() => {
                self.prompts_list(raw, auth).await
            }
            "prompts/get" => {
                let name = params
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match self.inner.workflows.get(name) {
                    Some(workflow) => Ok(self
                        .workflow_prompt(workflow, params, era.era, auth.as_ref())
                        .await?),
                    None => self.forward_result(raw, auth, era).await,
                }
            }
            "tools/call" => {
                if !self.inner.workflows.is_empty() {
                    if let Some(answer) = self.workflow_continuation(params, auth.as_ref()).await {
                        return Ok(answer?);
                    }
                }
                let name = params
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match self.inner.tools.get(name) {
                    Some(tool) => {
                        let owner = self.owner(auth.as_ref())?;
                        Ok(self.call_tool(tool, params, era, owner).await?)
                    }
                    None if !self.pmcp_has_tool(name).await => Err(invalid_params(format!(
                        "Unknown tool: '{name}'; tools/list shows the tools of this server"
                    ))
                    .into()),
                    None => self.forward_result(raw, auth, era).await,
                }
            }
            "subscriptions/listen" => {
                let wants_tasks = params
                    .get("notifications")
                    .and_then(|n| n.get("taskIds"))
                    .is_some();
                if wants_tasks && era.era == Era::V2026_07_28 && !era.tasks_extension {
                    return Err(missing_tasks_extension("task status notifications").into());
                }
                Err(method_not_found(
                    "subscriptions/listen is not supported by this server: poll tasks/get for task status",
                )
                .into())
            }
            "tasks/get" | "tasks/result" | "tasks/list" | "tasks/cancel" | "tasks/update" => {
                let owner = self.owner(auth.as_ref())?;
                Ok(match era.era {
                    Era::V2025_11_25 => self.tasks_2025(method, params, &owner, session).await?,
                    Era::V2026_07_28 => self.tasks_2026(method, params, &owner, era).await?,
                })
            }
            _ => self.forward_result(raw, auth, era).await,
        }
    }

    /// Sends a request to pmcp and returns its whole response.
    pub(super) async fn forward(
        &self,
        raw: Value,
        auth: Option<AuthContext>,
    ) -> Result<Value, Routed> {
        let request: JSONRPCRequest<Value> = serde_json::from_value(raw)
            .map_err(|e| RpcError::new(code::INVALID_REQUEST, format!("Invalid request: {e}")))?;
        let id = request.id.clone();
        let response = match pmcp::shared::parse_request(request) {
            Ok((id, request)) => self.inner.core.handle_request(id, request, auth).await,
            Err(e) => pmcp::types::JSONRPCResponse::error(id, e.into()),
        };
        serde_json::to_value(response)
            .map_err(|e| Routed::Error(RpcError::new(code::INTERNAL_ERROR, e.to_string())))
    }

    /// Sends a request to pmcp; a 2026-07-28 result gets its envelope.
    async fn forward_result(
        &self,
        raw: Value,
        auth: Option<AuthContext>,
        era: RequestEra,
    ) -> Result<Value, Routed> {
        let mut response = self.forward(raw, auth).await?;
        if era.era == Era::V2026_07_28 {
            if let Some(result) = response.get_mut("result") {
                envelope_2026(result, &self.inner.server_info);
            }
        }
        Err(Routed::Response(response))
    }

    /// Whether pmcp serves a plain tool called `name`. pmcp answers an
    /// unknown tool with `-32603`; the spec wants `-32602`, so the names are
    /// read once from pmcp's own `tools/list`.
    pub(super) async fn pmcp_has_tool(&self, name: &str) -> bool {
        self.pmcp_tools().await.contains_key(name)
    }

    /// The input schema of pmcp's plain tool `name`.
    pub(super) async fn pmcp_tool_schema(&self, name: &str) -> Option<Value> {
        self.pmcp_tools().await.get(name).cloned()
    }

    async fn pmcp_tools(&self) -> &std::collections::HashMap<String, Value> {
        self.inner
            .pmcp_tools
            .get_or_init(|| async {
                let list = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list", "params": {}});
                let response = match self.forward(list, None).await {
                    Ok(r) | Err(Routed::Response(r)) => r,
                    Err(Routed::Error(_)) => Value::Null,
                };
                response["result"]["tools"]
                    .as_array()
                    .map(|tools| {
                        tools
                            .iter()
                            .filter_map(|t| {
                                let name = t["name"].as_str()?.to_owned();
                                Some((name, t["inputSchema"].clone()))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .await
    }

    fn discover(&self) -> Value {
        let mut capabilities =
            serde_json::to_value(self.inner.core.capabilities()).unwrap_or_else(|_| json!({}));
        if let Some(caps) = capabilities.as_object_mut() {
            caps.remove("tasks");
            if let Some(experimental) = caps.get_mut("experimental").and_then(Value::as_object_mut)
            {
                experimental.remove("tasks");
            }
            let extensions = caps.entry("extensions").or_insert_with(|| json!({}));
            if !extensions.is_object() {
                *extensions = json!({});
            }
            extensions[wire::TASKS_EXTENSION] = json!({});
        }
        json!({
            "resultType": "complete",
            "capabilities": capabilities,
            "supportedVersions": SUPPORTED_PROTOCOL_VERSIONS,
            "ttlMs": 0,
            "cacheScope": "private",
            "_meta": {wire::SERVER_INFO_KEY: self.inner.server_info.clone()},
        })
    }

    /// Puts each task tool's real `taskSupport` into `tools/list` (pmcp only
    /// knows a placeholder), drops `execution` on 2026-07-28 (which has no
    /// such field), and sorts tools by name for a stable listing.
    fn patch_tools_list(&self, result: &mut Value, era: Era) {
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
            return;
        };
        for tool in tools.iter_mut() {
            let Some(object) = tool.as_object_mut() else {
                continue;
            };
            if era == Era::V2026_07_28 {
                object.remove("execution");
                continue;
            }
            let name = object
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(ours) = self.inner.tools.get(name) {
                object.insert(
                    "execution".into(),
                    json!({"taskSupport": ours.support.as_str()}),
                );
            }
        }
        tools.sort_by(|a, b| {
            let name = |v: &Value| {
                v.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            name(a).cmp(&name(b))
        });
    }

    async fn call_tool(
        &self,
        tool: &TaskTool,
        params: &Map<String, Value>,
        era: RequestEra,
        owner: String,
    ) -> Result<Value, RpcError> {
        let name = &tool.name;
        let task_param = params.get("task").filter(|t| !t.is_null());
        let as_task = match era.era {
            Era::V2025_11_25 => match (tool.support, task_param.is_some()) {
                (TaskSupport::Forbidden, true) => {
                    return Err(method_not_found(format!(
                        "Tool '{name}' cannot run as a task (its execution.taskSupport is \
                         'forbidden'); call it without params.task"
                    )))
                }
                (TaskSupport::Required, false) => {
                    return Err(method_not_found(format!(
                        "Tool '{name}' must run as a task (its execution.taskSupport is \
                         'required'); add \"task\": {{}} to the tools/call params"
                    )))
                }
                (_, wants) => wants,
            },
            Era::V2026_07_28 => match (tool.support, era.tasks_extension) {
                (TaskSupport::Forbidden, _) => false,
                (TaskSupport::Required, false) => {
                    return Err(missing_tasks_extension(&format!("tool '{name}'")))
                }
                (_, declared) => declared,
            },
        };
        let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
        let body = tool
            .body
            .prepare(arguments.clone())
            .map_err(|e| invalid_params(e.to_string()))?;
        if !as_task {
            return body(TaskContext::detached(owner)).await.into_result();
        }
        let requested_ttl = match task_param.and_then(|t| t.get("ttl")) {
            None | Some(Value::Null) => None,
            Some(v) => Some(Duration::from_millis(v.as_u64().ok_or_else(|| {
                invalid_params("params.task.ttl must be a whole number of milliseconds")
            })?)),
        };
        let mut answered = std::collections::BTreeMap::new();
        if era.era == Era::V2026_07_28 && !tool.ask_first.is_empty() {
            let responses = match params.get("inputResponses") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(r)) => r.clone(),
                Some(_) => return Err(invalid_params("params.inputResponses must be an object")),
            };
            let missing: Map<String, Value> = tool
                .ask_first
                .iter()
                .filter(|(key, _)| !responses.contains_key(key))
                .map(|(key, request)| (key.clone(), request.clone()))
                .collect();
            if !missing.is_empty() {
                // Multi round-trip: ask now, create the task on the retry.
                return Ok(json!({"resultType": "input_required", "inputRequests": missing}));
            }
            for (key, _) in &tool.ask_first {
                answered.insert(key.clone(), responses[key].clone());
            }
        }
        let limits = self.inner.runtime.limits();
        let new = NewTask {
            owner,
            era: era.era,
            tool: name.clone(),
            arguments,
            ttl: limits.effective_ttl(requested_ttl.or(tool.ttl)),
            poll_interval: Some(tool.poll_interval.unwrap_or(limits.poll_interval)),
            input_responses: answered,
        };
        let record = self
            .inner
            .runtime
            .start(new, body)
            .await
            .map_err(start_error)?;
        Ok(match era.era {
            Era::V2025_11_25 => json!({
                "task": wire::task_2025(&record),
                "_meta": {wire::RELATED_TASK_KEY: wire::related_task(&record.id)},
            }),
            Era::V2026_07_28 => {
                let mut task = wire::task_2026(&record);
                task.insert("resultType".into(), json!("task"));
                Value::Object(task)
            }
        })
    }

    async fn tasks_2025(
        &self,
        method: &str,
        params: &Map<String, Value>,
        owner: &str,
        session: &Session,
    ) -> Result<Value, RpcError> {
        let runtime = &self.inner.runtime;
        match method {
            "tasks/list" => {
                let cursor = match params.get("cursor") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(c)) => Some(c.as_str()),
                    Some(_) => return Err(invalid_params("params.cursor must be a string")),
                };
                let page = runtime
                    .list(owner, cursor)
                    .await
                    .map_err(|e| store_error(e, ""))?;
                let tasks: Vec<Value> = page
                    .tasks
                    .iter()
                    .map(|t| Value::Object(wire::task_2025(t)))
                    .collect();
                let mut result = json!({"tasks": tasks});
                if let Some(next) = page.next_cursor {
                    result["nextCursor"] = json!(next);
                }
                Ok(result)
            }
            "tasks/update" => Err(method_not_found(
                "tasks/update belongs to protocol 2026-07-28; on 2025-11-25 input is answered \
                 through the requests the server sends while tasks/result waits",
            )),
            _ => {
                let id = task_id_param(method, params)?;
                match method {
                    "tasks/get" => {
                        let record = runtime
                            .get(owner, id)
                            .await
                            .map_err(|e| store_error(e, id))?;
                        Ok(Value::Object(wire::task_2025(&record)))
                    }
                    "tasks/cancel" => {
                        let record = runtime
                            .cancel(owner, id)
                            .await
                            .map_err(|e| update_error(e, id))?;
                        Ok(Value::Object(wire::task_2025(&record)))
                    }
                    _ => self.task_result_2025(owner, id, session).await,
                }
            }
        }
    }

    /// `tasks/result` on 2025-11-25: waits until the task is terminal and
    /// answers exactly what the call would have answered. While it waits,
    /// input requests of the task are sent to the client (when the transport
    /// can reach it) with the related-task `_meta`, and the answers are
    /// delivered to the task.
    async fn task_result_2025(
        &self,
        owner: &str,
        id: &str,
        session: &Session,
    ) -> Result<Value, RpcError> {
        let runtime = &self.inner.runtime;
        let forwarded: Arc<Mutex<HashSet<String>>> = Arc::default();
        let poll = runtime.limits().poll_interval;
        let record = loop {
            let can_forward = session.peer.is_some();
            let seen = forwarded.clone();
            let record = runtime
                .wait_until(owner, id, poll, |t| {
                    t.status.is_terminal()
                        || (can_forward && {
                            let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                            t.input_requests.keys().any(|k| !seen.contains(k))
                        })
                })
                .await
                .map_err(|e| store_error(e, id))?;
            if record.status.is_terminal() {
                break record;
            }
            if let Some(peer) = &session.peer {
                self.forward_input_requests(&record, peer.clone(), &forwarded);
            }
        };
        result_of(&record)
    }

    fn forward_input_requests(
        &self,
        record: &TaskRecord,
        peer: Arc<dyn super::server::ClientPeer>,
        forwarded: &Arc<Mutex<HashSet<String>>>,
    ) {
        let mut seen = forwarded.lock().unwrap_or_else(|p| p.into_inner());
        for (key, request) in &record.input_requests {
            if !seen.insert(key.clone()) {
                continue;
            }
            let method = request
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut params = request.get("params").cloned().unwrap_or_else(|| json!({}));
            if let Some(object) = params.as_object_mut() {
                wire::meta_mut(object).insert(
                    wire::RELATED_TASK_KEY.into(),
                    wire::related_task(&record.id),
                );
            }
            let (runtime, peer, key) = (self.inner.runtime.clone(), peer.clone(), key.clone());
            let (owner, id) = (record.owner.clone(), record.id.clone());
            tokio::spawn(async move {
                match peer.request(&method, params).await {
                    Ok(answer) => {
                        let mut responses = Map::new();
                        responses.insert(key, answer);
                        if let Err(e) = runtime.answer_input(&owner, &id, &responses).await {
                            tracing::debug!(task = %id, error = %e, "the client's answer came too late");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(task = %id, error = %e.message, "the client refused an input request")
                    }
                }
            });
        }
    }

    async fn tasks_2026(
        &self,
        method: &str,
        params: &Map<String, Value>,
        owner: &str,
        era: RequestEra,
    ) -> Result<Value, RpcError> {
        if matches!(method, "tasks/result" | "tasks/list") {
            return Err(method_not_found(format!(
                "{method} does not exist in protocol 2026-07-28; poll tasks/get, which carries the result"
            )));
        }
        if !era.tasks_extension {
            return Err(missing_tasks_extension(method));
        }
        let id = task_id_param(method, params)?;
        let runtime = &self.inner.runtime;
        match method {
            "tasks/get" => {
                let record = runtime
                    .get(owner, id)
                    .await
                    .map_err(|e| store_error(e, id))?;
                Ok(Value::Object(wire::detailed_task_2026(&record)))
            }
            "tasks/update" => {
                let responses = match params.get("inputResponses") {
                    Some(Value::Object(r)) => r,
                    _ => {
                        return Err(invalid_params(
                            "tasks/update needs params.inputResponses, an object",
                        ))
                    }
                };
                match runtime.answer_input(owner, id, responses).await {
                    Ok(_) | Err(UpdateError::Domain(_)) => Ok(json!({})),
                    Err(e) => Err(update_error(e, id)),
                }
            }
            _ => match runtime.cancel(owner, id).await {
                // Cancelling a finished task is acknowledged: cancellation
                // is a request, and the task simply ended first.
                Ok(_) | Err(UpdateError::Domain(_)) => Ok(json!({})),
                Err(e) => Err(update_error(e, id)),
            },
        }
    }
}

/// What `tasks/result` answers for a terminal task.
fn result_of(record: &TaskRecord) -> Result<Value, RpcError> {
    match &record.outcome {
        Some(TaskOutcome::Result { value }) => {
            let mut value = value.clone();
            if let Some(object) = value.as_object_mut() {
                wire::meta_mut(object).insert(
                    wire::RELATED_TASK_KEY.into(),
                    wire::related_task(&record.id),
                );
            }
            Ok(value)
        }
        Some(TaskOutcome::Error { error }) => Err(error.clone()),
        None => Err(RpcError::new(
            code::INTERNAL_ERROR,
            format!(
                "Task '{}' was cancelled before it finished, so it has no result",
                record.id
            ),
        )),
    }
}

/// How a routed request ended, when not with a plain result.
pub(super) enum Routed {
    /// A JSON-RPC error.
    Error(RpcError),
    /// A complete response, already built (by pmcp).
    Response(Value),
}

impl From<RpcError> for Routed {
    fn from(e: RpcError) -> Self {
        Routed::Error(e)
    }
}
