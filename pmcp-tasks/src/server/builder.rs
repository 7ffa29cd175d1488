//! Configuring a [`TaskServer`]: tools, workflows, store, clock, limits,
//! owners, and the pmcp server underneath.

use super::{Inner, TaskServer, SUPPORTED_PROTOCOL_VERSIONS};
use crate::clock::{Clock, SystemClock};
use crate::domain::Limits;
use crate::execution::TaskRuntime;
use crate::protocol::Router;
use crate::service::host::Host;
use crate::service::{AnonymousPolicy, CompanionNames, OwnerPolicy, TaskService};
use crate::state::{StateValue, States};
use crate::store::{MemoryStore, TaskStore};
use crate::tool::TaskTool;
use crate::transport::TransportLimits;
use crate::workflow::{SequentialWorkflow, Workflows};
use pmcp::server::auth::AuthProvider;
use pmcp::server::builder::ServerCoreBuilder;
use pmcp::types::ProtocolVersion;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

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
    /// A tool takes a [`State`](crate::State) the server was not given.
    #[error("task tool '{tool}' takes State<{type_name}>, but the server was given no `{type_name}`: add .state(value) of that exact type to the builder")]
    MissingState {
        /// The tool.
        tool: String,
        /// The state's type, as Rust names it.
        type_name: &'static str,
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
    /// `None`: no background sweeper (the host sweeps, as on Lambda).
    sweep_every: Option<Duration>,
    auth_provider: Option<Arc<dyn AuthProvider>>,
    /// Each workflow prompt with where it came from.
    workflows: Vec<(SequentialWorkflow, String)>,
    clock: Option<Arc<dyn Clock>>,
    heartbeat: Duration,
    transport_limits: TransportLimits,
    states: States,
    detach_after: Option<Duration>,
    companions: CompanionNames,
    dispatcher: Option<Arc<dyn crate::execution::Dispatch>>,
    request_state_key: Option<[u8; 32]>,
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
            sweep_every: Some(Duration::from_secs(5)),
            auth_provider: None,
            workflows: Vec::new(),
            clock: None,
            heartbeat: Duration::from_secs(15),
            transport_limits: TransportLimits::default(),
            states: States::default(),
            detach_after: None,
            companions: CompanionNames::default(),
            dispatcher: None,
            request_state_key: None,
        }
    }

    /// The key that signs 2026-07-28 `requestState` (what a client sends
    /// back to continue a multi-round request). Every instance behind one
    /// load balancer, and every Lambda environment, must share it, or a
    /// continuation sent to another instance is refused. Without this, the
    /// key is read from `PMCP_REQUEST_STATE_KEY` (as pmcp reads it; a
    /// malformed value fails the build), else made at random per process,
    /// which suits one instance only.
    pub fn request_state_key(mut self, key: [u8; 32]) -> Self {
        self.request_state_key = Some(key);
        self
    }

    /// Hands every new task's body to a worker through `dispatcher` instead
    /// of running it in this process: the serverless model, where the
    /// process that answers a request may be frozen as soon as it has
    /// answered. The worker, built with the same tools and store, calls
    /// [`TaskRuntime::run_dispatched`]. See `pmcp-tasks-lambda`.
    pub fn dispatch(mut self, dispatcher: Arc<dyn crate::execution::Dispatch>) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// For every `support = "optional"` task tool without its own
    /// [`TaskTool::detach_after`]: a plain call still running after `wait`
    /// answers that the job goes on in the background (see there).
    pub fn detach_after(mut self, wait: Duration) -> Self {
        self.detach_after = Some(wait);
        self
    }

    /// Renames the companion tools that follow a detached call (served
    /// only when some tool can detach).
    pub fn companion_tools(mut self, names: CompanionNames) -> Self {
        self.companions = names;
        self
    }

    /// Gives every task tool that takes a [`State<T>`](crate::State) this
    /// `value` (a clone per task: share a pool or a client behind an
    /// `Arc`). One value per type; a second of the same type replaces the
    /// first. Tools called by workflow steps get it too.
    pub fn state<T: StateValue>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
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

    /// Where the time comes from (default: [`SystemClock`]). Tests on
    /// tokio's paused time pass a [`TokioClock`](crate::clock::TokioClock),
    /// so that TTLs and leases pass in virtual time.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How often an idle SSE stream (a session's GET stream, a
    /// `tasks/result` or `subscriptions/listen` answer) carries a
    /// keep-alive, so that clients with short idle timeouts stay connected
    /// (default 15 s).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// Bounds on what one client may send and hold open: message size,
    /// body read time, HTTP sessions and streams (see [`TransportLimits`]).
    pub fn transport_limits(mut self, limits: TransportLimits) -> Self {
        self.transport_limits = limits;
        self
    }

    /// How often expired tasks are deleted and tasks of stopped servers
    /// taken over, in the background (default 5 s).
    pub fn sweep_every(mut self, every: Duration) -> Self {
        self.sweep_every = Some(every);
        self
    }

    /// No background sweeper: the host calls
    /// [`TaskRuntime::sweep_expired`] and [`TaskRuntime::recover_lapsed`]
    /// itself, when it can wait for what recovery starts. For a process
    /// that may be frozen between requests (AWS Lambda), where a body taken
    /// over in the background would freeze half-run.
    pub fn without_sweeper(mut self) -> Self {
        self.sweep_every = None;
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
        let core = self.core;
        for (mut tool, origin) in self.tools {
            if let Some(need) = tool.needs.iter().find(|n| !self.states.has(n)) {
                return Err(BuildError::MissingState {
                    tool: tool.name.clone(),
                    type_name: need.type_name,
                });
            }
            tool.states = self.states.clone();
            if tool.support == crate::tool::TaskSupport::Optional {
                tool.detach_after = tool.detach_after.or(self.detach_after);
            }
            if let Some(first) = origins.get(&tool.name) {
                return Err(BuildError::DuplicateTool {
                    name: tool.name.clone(),
                    first: first.clone(),
                    second: origin,
                });
            }
            // Task tools are not registered with pmcp: this crate lists and
            // calls them itself, so pmcp never needs to know them.
            origins.insert(tool.name.clone(), origin);
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
        let shared_key = std::env::var_os("PMCP_REQUEST_STATE_KEY").is_some();
        let core = match self.request_state_key {
            Some(key) => core.with_request_state_key(key),
            // pmcp reads the shared key from the environment itself.
            None if shared_key => core,
            None => core.with_request_state_key(random_key()),
        };
        let core = core
            .with_supported_protocol_versions(
                SUPPORTED_PROTOCOL_VERSIONS
                    .iter()
                    .map(|v| ProtocolVersion(v.to_string())),
            )
            // Sessions and the initialize handshake are tracked per
            // connection by this layer; pmcp's single global flag would mix
            // connections up.
            .stateless_mode(true)
            .build()?;
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let runtime = TaskRuntime::with_clock(store, self.limits, clock);
        // A task taken over after a crash runs again only if its tool is
        // resumable; a dispatched one that never started, whatever its tool.
        runtime.set_resumer(bodies(tools.values().filter(|t| t.resumable)));
        runtime.set_starter(bodies(tools.values()));
        if let Some(dispatcher) = self.dispatcher {
            runtime.set_dispatcher(dispatcher);
        }
        if let Some(every) = self.sweep_every {
            runtime.spawn_sweeper(every);
        }
        runtime.spawn_change_feed();
        let detaching = tools.values().any(|t| t.detach_after.is_some());
        if detaching {
            let names = &self.companions;
            for name in [&names.status, &names.result, &names.cancel, &names.answer] {
                if tools.contains_key(name.as_str()) {
                    return Err(BuildError::DuplicateTool {
                        name: name.clone(),
                        first: format!("task tool '{name}'"),
                        second: "the companion tool of detached calls (rename it with TaskServerBuilder::companion_tools)".into(),
                    });
                }
            }
        }
        let mut service = TaskService::new(
            runtime,
            tools,
            OwnerPolicy::new(self.anonymous),
            Host::new(core),
        );
        if detaching {
            service = service.with_companions(self.companions);
        }
        Ok(TaskServer {
            inner: Arc::new(Inner {
                router: Router::new(service, Workflows::new(workflows)),
                heartbeat: self.heartbeat,
                auth_provider: self.auth_provider,
                transport_limits: self.transport_limits,
            }),
        })
    }
}

/// Builds a task's body from its record, for the tools given.
fn bodies<'a>(
    tools: impl Iterator<Item = &'a TaskTool>,
) -> impl Fn(&crate::domain::TaskRecord) -> Option<crate::execution::TaskBody> + Send + Sync + 'static
{
    let tools: BTreeMap<String, TaskTool> = tools.map(|t| (t.name.clone(), t.clone())).collect();
    move |record| {
        let tool = tools.get(&record.tool)?;
        tool.prepare(record.arguments.to_value().ok()?).ok()
    }
}

/// A key for one process's `requestState` (see
/// [`TaskServerBuilder::request_state_key`]).
fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}
