//! `TaskServer`: a pmcp `ServerCore` with the whole task surface served in
//! front of it.

use super::tool_handler::PmcpTool;
use crate::domain::{Limits, RpcError};
use crate::execution::TaskRuntime;
use crate::store::{MemoryStore, TaskStore};
use crate::tool::TaskTool;
use crate::workflow::SequentialWorkflow;
use async_trait::async_trait;
use pmcp::server::auth::AuthProvider;
use pmcp::server::builder::ServerCoreBuilder;
use pmcp::server::core::ServerCore;
use pmcp::types::ProtocolVersion;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The protocol versions served: the two Tasks eras and the earlier
/// versions clients still offer.
pub const SUPPORTED_PROTOCOL_VERSIONS: [&str; 5] = [
    "2026-07-28",
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];

/// Who owns a task created by a caller without an authenticated subject.
///
/// Authenticated callers always own their tasks by subject
/// (`user:<subject>`). Without authentication the server cannot tell callers
/// apart: over stdio there is exactly one client, so sharing is safe; over
/// HTTP every anonymous caller shares the same tasks, protected only by
/// their unguessable ids (and `tasks/list` shows them all). Configure
/// authentication, or [`AnonymousPolicy::Reject`], for multi-user HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnonymousPolicy {
    /// Every anonymous caller is owner `anon:<name>`.
    Shared(String),
    /// Anonymous task requests are refused with `-32003`.
    Reject,
}

impl Default for AnonymousPolicy {
    fn default() -> Self {
        AnonymousPolicy::Shared("local".into())
    }
}

/// Why a server could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Two tools share a name.
    #[error("two task tools are both named '{name}' ({first} and {second}); tool names must be unique: rename one with #[task_tool(name = \"...\")]")]
    DuplicateTool {
        /// The shared name.
        name: String,
        /// Where the first one comes from.
        first: String,
        /// Where the second one comes from.
        second: String,
    },
    /// Two workflow prompts share a name.
    #[error(
        "two workflows are both named '{name}' ({first} and {second}); prompt names must be unique"
    )]
    DuplicateWorkflow {
        /// The shared name.
        name: String,
        /// Where the first one comes from.
        first: String,
        /// Where the second one comes from.
        second: String,
    },
    /// pmcp's own validation refused a workflow.
    #[error("workflow '{name}' ({origin}) is not valid: {reason}")]
    InvalidWorkflow {
        /// The workflow's name.
        name: String,
        /// Where it comes from.
        origin: String,
        /// What pmcp said.
        reason: String,
    },
    /// `build` was called outside a tokio runtime.
    #[error("TaskServer::build must run inside a tokio runtime (it starts the expiry sweeper); call it from async code such as #[tokio::main]")]
    NoRuntime,
    /// pmcp refused its part of the configuration.
    #[error("the pmcp server could not be built: {0}")]
    Pmcp(#[from] pmcp::Error),
}

/// Configures a [`TaskServer`].
pub struct TaskServerBuilder {
    core: ServerCoreBuilder,
    /// Each tool with where it came from, for duplicate-name errors.
    tools: Vec<(TaskTool, String)>,
    store: Option<Arc<dyn TaskStore>>,
    limits: Limits,
    anonymous: AnonymousPolicy,
    sweep_every: Duration,
    auth_provider: Option<Arc<dyn AuthProvider>>,
    /// Each workflow prompt with where it came from.
    workflows: Vec<(SequentialWorkflow, String)>,
}

impl std::fmt::Debug for TaskServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskServerBuilder")
            .field("tools", &self.tools)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl TaskServerBuilder {
    /// A server called `name`, at `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        TaskServerBuilder {
            core: ServerCoreBuilder::new().name(name).version(version),
            tools: Vec::new(),
            store: None,
            limits: Limits::default(),
            anonymous: AnonymousPolicy::default(),
            sweep_every: Duration::from_secs(5),
            auth_provider: None,
            workflows: Vec::new(),
        }
    }

    /// Configures the underlying pmcp server: plain tools, prompts,
    /// resources, auth. pmcp serves everything that is not a task.
    pub fn pmcp(mut self, configure: impl FnOnce(ServerCoreBuilder) -> ServerCoreBuilder) -> Self {
        self.core = configure(self.core);
        self
    }

    /// Adds a task tool.
    pub fn tool(mut self, tool: TaskTool) -> Self {
        let origin = format!("tool '{}' added with TaskServerBuilder::tool", tool.name);
        self.tools.push((tool, origin));
        self
    }

    /// Adds several task tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = TaskTool>) -> Self {
        for tool in tools {
            self = self.tool(tool);
        }
        self
    }

    /// Adds every `#[task_tool]` linked into the program, sorted by name
    /// (see [`crate::registry`] for the linking caveat).
    pub fn registered_tools(mut self) -> Self {
        for registration in crate::registry::registrations() {
            let origin = format!("#[task_tool] at {}", registration.location);
            self.tools.push(((registration.make)(), origin));
        }
        self
    }

    /// Serves `workflow` as a prompt in task mode: `prompts/get` runs it as
    /// a durable task (see [`crate::workflow`]).
    pub fn workflow(mut self, workflow: SequentialWorkflow) -> Self {
        let origin = format!(
            "workflow '{}' added with TaskServerBuilder::workflow",
            workflow.name()
        );
        self.workflows.push((workflow, origin));
        self
    }

    /// Adds every `#[task_workflow]` linked into the program (the linking
    /// caveat of [`crate::registry`] applies).
    pub fn registered_workflows(mut self) -> Self {
        for registration in crate::registry::workflow_registrations() {
            let origin = format!("#[task_workflow] at {}", registration.location);
            self.workflows.push(((registration.make)(), origin));
        }
        self
    }

    /// Where tasks are kept (default: [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn TaskStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Bounds on owners and tasks.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The owner of tasks created without authentication.
    pub fn anonymous(mut self, policy: AnonymousPolicy) -> Self {
        self.anonymous = policy;
        self
    }

    /// Authenticates HTTP requests (the `Authorization` header); the
    /// subject it returns owns the caller's tasks.
    pub fn auth_provider(mut self, provider: Arc<dyn AuthProvider>) -> Self {
        self.auth_provider = Some(provider);
        self
    }

    /// How often expired tasks are deleted (default 5 s).
    pub fn sweep_every(mut self, every: Duration) -> Self {
        self.sweep_every = every;
        self
    }

    /// Builds the server. Must run inside a tokio runtime (it starts the
    /// expiry sweeper); outside one it answers [`BuildError::NoRuntime`].
    pub fn build(self) -> Result<TaskServer, BuildError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BuildError::NoRuntime);
        }
        let mut tools = BTreeMap::new();
        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        let mut core = self.core;
        for (tool, origin) in self.tools {
            if let Some(first) = origins.get(&tool.name) {
                return Err(BuildError::DuplicateTool {
                    name: tool.name.clone(),
                    first: first.clone(),
                    second: origin,
                });
            }
            origins.insert(tool.name.clone(), origin);
            core = core.tool_arc(tool.name.clone(), Arc::new(PmcpTool(tool.clone())));
            tools.insert(tool.name.clone(), tool);
        }
        let mut workflows = BTreeMap::new();
        let mut workflow_origins: BTreeMap<String, String> = BTreeMap::new();
        for (workflow, origin) in self.workflows {
            let name = workflow.name().to_owned();
            if let Some(first) = workflow_origins.get(&name) {
                return Err(BuildError::DuplicateWorkflow {
                    name,
                    first: first.clone(),
                    second: origin,
                });
            }
            if let Err(e) = workflow.validate() {
                return Err(BuildError::InvalidWorkflow {
                    name,
                    origin,
                    reason: e.to_string(),
                });
            }
            workflow_origins.insert(name.clone(), origin);
            workflows.insert(name, workflow);
        }
        let key: [u8; 32] = {
            let mut k = [0u8; 32];
            k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            k
        };
        let core = core
            .with_supported_protocol_versions(
                SUPPORTED_PROTOCOL_VERSIONS
                    .iter()
                    .map(|v| ProtocolVersion(v.to_string())),
            )
            .with_request_state_key(key)
            // Sessions and the initialize handshake are tracked per
            // connection by this layer; pmcp's single global flag would mix
            // connections up.
            .stateless_mode(true)
            .build()?;
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let runtime = TaskRuntime::new(store, self.limits);
        let resumable: BTreeMap<String, TaskTool> = tools
            .iter()
            .filter(|(_, t)| t.resumable)
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        runtime.set_resumer(move |record| {
            let tool = resumable.get(&record.tool)?;
            tool.body.prepare(record.arguments.clone()).ok()
        });
        runtime.spawn_sweeper(self.sweep_every);
        let server_info = serde_json::to_value(pmcp::server::core::ProtocolHandler::info(&core))
            .unwrap_or(Value::Null);
        Ok(TaskServer {
            inner: Arc::new(Inner {
                server_info,
                core,
                runtime,
                tools,
                workflows,
                anonymous: self.anonymous,
                auth_provider: self.auth_provider,
                pmcp_tools: tokio::sync::OnceCell::new(),
            }),
        })
    }
}

/// An MCP server whose task tools run as MCP Tasks in both protocol eras.
///
/// Serve it with [`serve_stdio`](TaskServer::serve_stdio) or
/// [`serve_http`](TaskServer::serve_http); cheap to clone.
#[derive(Clone)]
pub struct TaskServer {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) core: ServerCore,
    pub(crate) runtime: TaskRuntime,
    pub(crate) tools: BTreeMap<String, TaskTool>,
    /// Workflow prompts served in task mode, by name.
    pub(crate) workflows: BTreeMap<String, SequentialWorkflow>,
    pub(crate) anonymous: AnonymousPolicy,
    pub(crate) auth_provider: Option<Arc<dyn AuthProvider>>,
    /// The server's identity (pmcp's `Implementation`) as JSON, serialized
    /// once: every 2026-07-28 result carries it.
    pub(crate) server_info: Value,
    /// pmcp's own (non-task) tools and their input schemas, read on first
    /// need.
    pub(crate) pmcp_tools: tokio::sync::OnceCell<std::collections::HashMap<String, Value>>,
}

impl std::fmt::Debug for TaskServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskServer")
            .field("tools", &self.inner.tools.keys().collect::<Vec<_>>())
            .field("runtime", &self.inner.runtime)
            .finish()
    }
}

impl TaskServer {
    /// Starts configuring a server.
    pub fn builder(name: impl Into<String>, version: impl Into<String>) -> TaskServerBuilder {
        TaskServerBuilder::new(name, version)
    }

    /// The task runtime (store, limits, running bodies).
    pub fn runtime(&self) -> &TaskRuntime {
        &self.inner.runtime
    }

    /// Names of the task tools, sorted.
    pub fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.inner.tools.keys().map(String::as_str)
    }

    /// Handles one JSON-RPC message in process, as a stateless request from
    /// a caller authenticated as `auth` (if any): the era comes from the
    /// message's `_meta`, else 2025-11-25. Returns the response, or `None`
    /// for a notification. Transports keep per-connection state instead;
    /// this is for embedding, tests and benchmarks.
    pub async fn handle(
        &self,
        message: Value,
        auth: Option<pmcp::server::auth::AuthContext>,
    ) -> Option<Value> {
        self.handle_message(message, &Session::default(), auth)
            .await
    }

    /// Stops taking tasks, lets running ones finish for up to `grace`, then
    /// marks the rest `failed`. Returns how many were marked `failed`.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.inner.runtime.shutdown(grace).await
    }
}

/// A way to send requests to the client of one connection (server to
/// client), used to deliver input requests on 2025-11-25.
#[async_trait]
pub(crate) trait ClientPeer: Send + Sync {
    /// Sends a request and waits for the client's answer.
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError>;
}

/// What the server remembers about one connection (a stdio process or an
/// HTTP session).
#[derive(Default)]
pub(crate) struct Session {
    /// The version agreed by `initialize`, if it happened.
    pub(crate) negotiated: Mutex<Option<String>>,
    /// How to reach the client, if the transport can.
    pub(crate) peer: Option<Arc<dyn ClientPeer>>,
}

impl Session {
    pub(crate) fn with_peer(peer: Arc<dyn ClientPeer>) -> Self {
        Session {
            negotiated: Mutex::new(None),
            peer: Some(peer),
        }
    }

    pub(crate) fn negotiated(&self) -> Option<String> {
        self.negotiated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_negotiated(&self, version: String) {
        *self.negotiated.lock().unwrap_or_else(|p| p.into_inner()) = Some(version);
    }
}
