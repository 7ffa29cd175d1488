//! What the server says about itself: `initialize` (pmcp's answer with the
//! task capabilities added), `server/discover`, and the `tools/list` and
//! `prompts/list` that merge pmcp's entries with this crate's.

use super::era::SUPPORTED_PROTOCOL_VERSIONS;
use super::error::Error;
use super::wire::{SERVER_INFO_KEY, TASKS_EXTENSION};
use super::{Exchange, Router};
use crate::domain::Era;
use crate::tool::{TaskSupport, TaskTool};
use crate::workflow::SequentialWorkflow;
use pmcp::server::core::ProtocolHandler;
use pmcp::types::{
    CacheScope, ListToolsResult, TaskSupport as WireSupport, ToolExecution, ToolInfo,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `initialize`: pmcp negotiates; the session keeps the agreed version,
/// and the capabilities gain `tasks` (and `tools`, `prompts` where only
/// this crate provides them).
pub(super) async fn initialize(x: &Exchange<'_>) -> Result<Value, Error> {
    let mut result = x.forward().await?;
    if let Some(version) = result.get("protocolVersion").and_then(Value::as_str) {
        x.session().set_negotiated(version.to_owned());
        let declared = x.params().get("capabilities").unwrap_or(&Value::Null);
        x.session()
            .set_client_elicits(super::params::answers_forms(declared));
    }
    if let Some(capabilities) = result
        .get_mut("capabilities")
        .and_then(Value::as_object_mut)
    {
        // Listing is offered only where tasks are bound to this caller.
        let tasks = if x.owner().is_ok_and(|owner| owner.is_bound()) {
            json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}})
        } else {
            json!({"cancel": {}, "requests": {"tools": {"call": {}}}})
        };
        capabilities.insert("tasks".into(), tasks);
        add_own(capabilities, x.router());
    }
    Ok(result)
}

/// `tools` and `prompts` capabilities for what this crate serves itself.
fn add_own(capabilities: &mut serde_json::Map<String, Value>, router: &Router) {
    if !router.service.tools().is_empty() {
        capabilities
            .entry("tools")
            .or_insert_with(|| json!({"listChanged": false}));
    }
    if !router.workflows.is_empty() {
        capabilities.entry("prompts").or_insert_with(|| json!({}));
    }
}

/// `server/discover` (2026-07-28): pmcp's capabilities, with the Tasks
/// extension instead of the 2025-11-25 `tasks` capability.
pub(super) fn discover(router: &Router) -> Value {
    let core = router.service.host().core();
    let mut capabilities = serde_json::to_value(core.capabilities()).unwrap_or_else(|_| json!({}));
    if let Some(caps) = capabilities.as_object_mut() {
        caps.remove("tasks");
        if let Some(experimental) = caps.get_mut("experimental").and_then(Value::as_object_mut) {
            experimental.remove("tasks");
        }
        let extensions = caps.entry("extensions").or_insert_with(|| json!({}));
        if !extensions.is_object() {
            *extensions = json!({});
        }
        extensions[TASKS_EXTENSION] = json!({});
        add_own(caps, router);
    }
    json!({
        "resultType": "complete",
        "capabilities": capabilities,
        "supportedVersions": SUPPORTED_PROTOCOL_VERSIONS,
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": {SERVER_INFO_KEY: router.server_info.clone()},
    })
}

/// A task tool as `tools/list` shows it.
pub(crate) fn tool_info(tool: &TaskTool) -> ToolInfo {
    let mut info = ToolInfo::new(
        tool.name.clone(),
        tool.description.clone(),
        tool.input_schema.clone(),
    );
    // A plain call of a detaching tool may answer where the job went
    // instead of the output, which its schema would not describe.
    if tool.detach_after.is_none() {
        info.output_schema = tool.output_schema.clone();
    }
    let support = match tool.support {
        TaskSupport::Forbidden => WireSupport::Forbidden,
        TaskSupport::Optional => WireSupport::Optional,
        TaskSupport::Required => WireSupport::Required,
    };
    info.execution = Some(ToolExecution::new().with_task_support(support));
    info
}

/// `tools/list`: pmcp's plain tools and the task tools (a task tool wins a
/// name both have), sorted by name. 2026-07-28 has no `execution` field and
/// adds the cache hints.
pub(super) async fn tools_list(x: &Exchange<'_>) -> Result<Value, Error> {
    let service = x.service();
    let mut tools: BTreeMap<String, ToolInfo> = service.host().tools().await.clone();
    tools.extend(
        service
            .tools()
            .values()
            .map(|t| (t.name.clone(), tool_info(t))),
    );
    if let Some(companions) = service.companions() {
        for (name, description, schema) in companions.descriptors() {
            let mut info = ToolInfo::new(name.clone(), Some(description), schema);
            info.execution = Some(ToolExecution::new().with_task_support(WireSupport::Forbidden));
            tools.insert(name, info);
        }
    }
    let mut result = ListToolsResult::default();
    result.tools = tools.into_values().collect();
    if x.era().era == Era::V2026_07_28 {
        for tool in &mut result.tools {
            tool.execution = None;
        }
        result.ttl_ms = Some(0);
        result.cache_scope = Some(CacheScope::Private);
    }
    serde_json::to_value(result)
        .map_err(|e| Error::Internal(format!("tools/list could not be written: {e}")))
}

/// How a workflow prompt shows in `prompts/list`.
fn prompt_info(workflow: &SequentialWorkflow) -> Value {
    let arguments: Vec<Value> = workflow
        .arguments()
        .iter()
        .map(|(name, spec)| {
            json!({"name": name.as_str(), "description": spec.description, "required": spec.required})
        })
        .collect();
    json!({
        "name": workflow.name(),
        "description": workflow.description(),
        "arguments": arguments,
    })
}

/// `prompts/list`: pmcp's prompts with the workflow prompts added, sorted
/// by name.
pub(super) async fn prompts_list(x: &Exchange<'_>) -> Result<Value, Error> {
    let mut prompts: Vec<Value> = match x.forward().await {
        Ok(result) => result
            .get("prompts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    prompts.extend(x.router().workflows.iter().map(prompt_info));
    prompts.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(json!({"prompts": prompts}))
}
