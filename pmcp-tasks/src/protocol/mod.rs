//! The protocol layer: JSON-RPC in, typed calls to the task service, the
//! era's wire shapes out.
//!
//! A message is opened once ([`jsonrpc`]), its era decided once
//! ([`era`]), its params decoded with serde by the adapter of that era
//! ([`v2025_11_25`], [`v2026_07_28`]), and every failure mapped to its
//! code and HTTP status in one place ([`error`]). Whatever this crate does
//! not serve goes to pmcp, and pmcp's answer comes back as an ordinary
//! result or error.

mod era;
mod error;
mod forward;
mod jsonrpc;
mod listen;
mod params;
mod push;
mod session;
mod surface;
mod v2025_11_25;
mod v2026_07_28;
pub(crate) mod wire;
mod workflows;

pub use era::SUPPORTED_PROTOCOL_VERSIONS;
pub(crate) use error::Error;
pub(crate) use jsonrpc::Reply;
pub(crate) use session::{ClientPeer, Delivery, Outbox, Session};

/// Where a request that streams (a listen, over HTTP also a 2025-11-25
/// `tasks/result`) writes what comes before its answer. Bounded: a client
/// that does not read is let go rather than buffered without end.
pub(crate) type StreamOut = tokio::sync::mpsc::Sender<Value>;

use crate::domain::Era;
use crate::service::{Caller, Owner, TaskService};
use crate::workflow::Workflows;
use era::RequestEra;
use jsonrpc::{Envelope, Method};
use params::{Addressed, RequestMeta};
use pmcp::server::auth::AuthContext;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// One message, as the transport must treat it.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A request to serve (boxed: it is by far the largest).
    Call(Box<Call>),
    /// A notification, for pmcp.
    Notification(Value),
    /// The client's answer to a request this server sent.
    Response(Value),
    /// A message refused as it is, with its answer.
    Refused(Reply),
}

/// A request, opened and placed in its era.
#[derive(Debug)]
pub(crate) struct Call {
    id: Value,
    method: Method,
    name: String,
    params: Value,
    meta: RequestMeta,
    era: RequestEra,
}

impl Call {
    pub(crate) fn is_initialize(&self) -> bool {
        self.method == Method::Initialize
    }

    /// Whether the connection's own traffic (input requests, status
    /// notifications) may travel on this request's stream before its
    /// answer: a 2025-11-25 `tasks/result`'s, not a listen's.
    pub(crate) fn shares_its_stream(&self) -> bool {
        self.method == Method::TasksResult
    }

    /// The protocol version the request declares in its `_meta` (the
    /// 2026-07-28 way), if it is a string.
    pub(crate) fn declared_version(&self) -> Option<&str> {
        self.meta.protocol_version.as_ref()?.as_str()
    }

    /// The answer to this request failing with `error`.
    pub(crate) fn refuse(&self, error: Error) -> Reply {
        Reply::error(self.id.clone(), error)
    }

    /// Whether messages may come before the answer: a 2025-11-25
    /// `tasks/result` sends the task's input requests while it waits, a
    /// `subscriptions/listen` its notifications. A transport that can
    /// stream the answer should.
    pub(crate) fn streams(&self) -> bool {
        match self.method {
            Method::TasksResult => self.era.era == Era::V2025_11_25,
            Method::SubscriptionsListen => true,
            // A plain call with a progress token: its progress travels on
            // its own stream, before its answer.
            Method::ToolsCall => {
                self.meta.progress_token.is_some()
                    && match self.era.era {
                        Era::V2025_11_25 => self.params.get("task").is_none(),
                        _ => !self.era.tasks_extension,
                    }
            }
            _ => false,
        }
    }
}

impl Call {
    /// Whether a streaming call whose answer is ready at once may answer
    /// it as plain JSON: a `tasks/result` of a task that already ended has
    /// nothing left to send before it (a listen is a stream by nature, and
    /// a plain call's progress may come first).
    pub(crate) fn may_answer_plainly(&self) -> bool {
        matches!(self.method, Method::TasksResult)
    }
}

/// A message opened, before its era is known: enough to check what the
/// 2026-07-28 routing headers say against it.
#[derive(Debug)]
pub(crate) struct Opened(Result<Envelope, Box<Reply>>);

/// Opens a parsed message.
pub(crate) fn open(message: Value) -> Opened {
    Opened(jsonrpc::open(message))
}

impl Opened {
    /// The method, for a request or a notification.
    pub(crate) fn method_name(&self) -> Option<&str> {
        match &self.0 {
            Ok(Envelope::Request { method, .. } | Envelope::Notification { method, .. }) => {
                Some(method)
            }
            _ => None,
        }
    }

    /// What a request is addressed to (the 2026-07-28 `Mcp-Name`): the
    /// tool or prompt, the resource, or the task.
    pub(crate) fn addressed_to(&self) -> Option<String> {
        let Ok(Envelope::Request { method, params, .. }) = &self.0 else {
            return None;
        };
        let addressed = Addressed::read(params);
        match Method::parse(method) {
            Method::ToolsCall | Method::PromptsGet => addressed.name,
            Method::TasksGet | Method::TasksUpdate | Method::TasksCancel => addressed.task_id,
            Method::ResourcesRead => addressed.uri,
            _ => None,
        }
    }

    /// The answer to this message failing with `error` (with its id, if it
    /// is a request).
    pub(crate) fn refuse(&self, error: Error) -> Reply {
        let id = match &self.0 {
            Ok(Envelope::Request { id, .. }) => id.clone(),
            _ => Value::Null,
        };
        Reply::error(id, error)
    }
}

/// Serves the protocol over the task service and the workflows.
pub(crate) struct Router {
    service: Arc<TaskService>,
    workflows: Workflows,
    /// Cancelled when the server stops taking requests: open streams end.
    draining: CancellationToken,
    /// The server's identity (pmcp's `Implementation`) as JSON, made once:
    /// every 2026-07-28 result carries it.
    server_info: Value,
}

impl Router {
    pub(crate) fn new(service: TaskService, workflows: Workflows) -> Self {
        use pmcp::server::core::ProtocolHandler;
        let server_info = serde_json::to_value(service.host().core().info()).unwrap_or(Value::Null);
        Router {
            service: Arc::new(service),
            workflows,
            draining: CancellationToken::new(),
            server_info,
        }
    }

    /// The server stops taking requests: subscriptions end with their
    /// answer, and open streams close.
    pub(crate) fn drain(&self) {
        self.draining.cancel();
    }

    /// Cancelled once the server drains (for streams that outlive a call).
    pub(crate) fn drain_token(&self) -> CancellationToken {
        self.draining.clone()
    }

    /// Resolves once the server drains.
    pub(crate) fn draining(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.draining.cancelled()
    }

    pub(crate) fn service(&self) -> &TaskService {
        &self.service
    }

    /// Opens a message and, for a request, decides its era.
    pub(crate) fn decode(&self, message: Value, session: &Session) -> Incoming {
        self.place(open(message), session)
    }

    /// Sorts an opened message and, for a request, decides its era.
    pub(crate) fn place(&self, opened: Opened, session: &Session) -> Incoming {
        let (id, name, params) = match opened.0 {
            Ok(Envelope::Request { id, method, params }) => (id, method, params),
            Ok(Envelope::Notification { message, .. }) => return Incoming::Notification(message),
            Ok(Envelope::Response(r)) => return Incoming::Response(r),
            Err(reply) => return Incoming::Refused(*reply),
        };
        let decided = RequestMeta::read(&params)
            .and_then(|meta| era::decide(&meta, session).map(|era| (meta, era)));
        match decided {
            Ok((meta, era)) => Incoming::Call(Box::new(Call {
                id,
                method: Method::parse(&name),
                name,
                params: Value::Object(params),
                meta,
                era,
            })),
            Err(error) => Incoming::Refused(Reply::error(id, error)),
        }
    }

    /// A notification from the client: a `notifications/cancelled` of an
    /// open listen ends it; pmcp sees every notification.
    pub(crate) async fn notify(&self, message: Value, session: &Session) {
        if message.get("method").and_then(Value::as_str) == Some("notifications/cancelled") {
            if let Some(id) = message.get("params").and_then(|p| p.get("requestId")) {
                session.cancel_listen(id);
            }
        }
        forward::notification(self.service.host(), message).await;
    }

    /// Serves a request; `stream` carries what comes before its answer
    /// (see [`Call::streams`]).
    pub(crate) async fn serve(
        &self,
        call: Box<Call>,
        session: &Session,
        auth: Option<AuthContext>,
        stream: Option<StreamOut>,
    ) -> Reply {
        let exchange = Exchange {
            router: self,
            call: &call,
            session,
            auth: auth.as_ref(),
            stream: stream.as_ref(),
        };
        let mut outcome = match call.method {
            Method::SubscriptionsListen => match listen::listen(&exchange).await {
                Ok(listen::Ended::Answered(result)) => Ok(result),
                Ok(listen::Ended::Abandoned) => Err(Error::Abandoned),
                Err(e) => Err(e),
            },
            _ => self.answer(&exchange).await,
        };
        if let Ok(result) = &mut outcome {
            if call.era.era == Era::V2026_07_28 && call.method != Method::Initialize {
                self.envelope_2026(result);
            }
        }
        Reply {
            id: call.id,
            outcome,
        }
    }

    /// Opens and serves one message in process: the reply to a request,
    /// `None` for anything else.
    pub(crate) async fn handle(
        &self,
        message: Value,
        session: &Session,
        auth: Option<AuthContext>,
    ) -> Option<Reply> {
        match self.decode(message, session) {
            Incoming::Call(call) => Some(self.serve(call, session, auth, None).await),
            Incoming::Notification(n) => {
                self.notify(n, session).await;
                None
            }
            Incoming::Response(_) => None,
            Incoming::Refused(reply) => Some(reply),
        }
    }

    async fn answer(&self, x: &Exchange<'_>) -> Result<Value, Error> {
        let era = x.call.era.era;
        match x.call.method {
            Method::Ping => Ok(json!({})),
            Method::Discover => Ok(surface::discover(self)),
            Method::Initialize => surface::initialize(x).await,
            Method::ToolsList => surface::tools_list(x).await,
            Method::PromptsList if !self.workflows.is_empty() => surface::prompts_list(x).await,
            Method::PromptsGet => match workflows::prompt(x).await {
                Some(answer) => answer,
                None => x.forward().await,
            },
            Method::ToolsCall => {
                if let Some(answer) = workflows::continuation(x).await {
                    return answer;
                }
                match era {
                    Era::V2025_11_25 => v2025_11_25::tools_call(x).await,
                    Era::V2026_07_28 => v2026_07_28::tools_call(x).await,
                }
            }
            Method::TasksGet
            | Method::TasksResult
            | Method::TasksList
            | Method::TasksCancel
            | Method::TasksUpdate => match era {
                Era::V2025_11_25 => v2025_11_25::tasks(x).await,
                Era::V2026_07_28 => v2026_07_28::tasks(x).await,
            },
            Method::PromptsList | Method::ResourcesRead | Method::Other => x.forward().await,
            // Served by `serve`, which streams.
            Method::SubscriptionsListen => Err(Error::Internal("a listen is served apart".into())),
        }
    }

    /// What every 2026-07-28 result carries: `resultType` (unless set) and
    /// the server's identity under `_meta`.
    fn envelope_2026(&self, result: &mut Value) {
        if let Some(object) = result.as_object_mut() {
            object
                .entry("resultType")
                .or_insert_with(|| json!("complete"));
            wire::meta_mut(object)
                .entry(wire::SERVER_INFO_KEY)
                .or_insert_with(|| self.server_info.clone());
        }
    }
}

/// One request being served: the call, its connection and its caller.
pub(crate) struct Exchange<'a> {
    router: &'a Router,
    call: &'a Call,
    session: &'a Session,
    auth: Option<&'a AuthContext>,
    stream: Option<&'a StreamOut>,
}

impl Exchange<'_> {
    fn router(&self) -> &Router {
        self.router
    }

    /// The request's id.
    fn id(&self) -> &Value {
        &self.call.id
    }

    /// Where the request streams, if the transport gave it a stream.
    fn stream(&self) -> Option<&StreamOut> {
        self.stream
    }

    fn service(&self) -> &TaskService {
        &self.router.service
    }

    /// The service, to hand to work that outlives the request.
    fn service_handle(&self) -> Arc<TaskService> {
        self.router.service.clone()
    }

    fn session(&self) -> &Session {
        self.session
    }

    fn method(&self) -> Method {
        self.call.method
    }

    fn method_name(&self) -> &str {
        &self.call.name
    }

    fn params(&self) -> &Value {
        &self.call.params
    }

    fn meta(&self) -> &RequestMeta {
        &self.call.meta
    }

    fn era(&self) -> RequestEra {
        self.call.era
    }

    fn auth(&self) -> Option<&AuthContext> {
        self.auth
    }

    /// The owner of the caller's tasks.
    fn owner(&self) -> Result<Owner, Error> {
        Ok(self.service().owner(self.caller())?)
    }

    /// Who makes the request.
    fn caller(&self) -> Caller<'_> {
        Caller {
            auth: self.auth,
            connection: self.session.connection(),
        }
    }

    /// Hands the request to pmcp, unchanged.
    async fn forward(&self) -> Result<Value, Error> {
        forward::request(
            self.service().host(),
            &self.call.id,
            &self.call.name,
            self.call.params.clone(),
            self.auth.cloned(),
        )
        .await
        .map_err(|e| crate::service::ServiceError::Failed(e).into())
    }

    /// What the request is addressed to (a prompt's or tool's name, ...).
    fn addressed(&self) -> Addressed {
        Addressed::read(&self.call.params)
    }
}
