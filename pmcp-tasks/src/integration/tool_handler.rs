//! A [`TaskTool`] seen by pmcp: its metadata for `tools/list`, and an inline
//! run for plain calls that reach pmcp directly.

use crate::domain::TaskOutcome;
use crate::execution::TaskContext;
use crate::tool::{TaskSupport, TaskTool};
use async_trait::async_trait;
use pmcp::server::ToolOutput;
use pmcp::types::{CallToolResult, TaskSupport as WireSupport, ToolExecution};
use pmcp::{RequestHandlerExtra, ToolHandler, ToolInfo};
use serde_json::Value;

/// pmcp's view of one task tool.
pub(crate) struct PmcpTool(pub(crate) TaskTool);

pub(crate) fn wire_support(support: TaskSupport) -> WireSupport {
    match support {
        TaskSupport::Forbidden => WireSupport::Forbidden,
        TaskSupport::Optional => WireSupport::Optional,
        TaskSupport::Required => WireSupport::Required,
    }
}

#[async_trait]
impl ToolHandler for PmcpTool {
    async fn handle(&self, args: Value, extra: RequestHandlerExtra) -> pmcp::Result<Value> {
        match self.handle_output(args, extra).await? {
            ToolOutput::Result(result) => {
                serde_json::to_value(result).map_err(|e| pmcp::Error::internal(e.to_string()))
            }
            ToolOutput::Payload(value) => Ok(value),
            _ => Err(pmcp::Error::internal("unexpected tool output")),
        }
    }

    /// Runs the body inline and hands pmcp the finished `CallToolResult`, so
    /// it is not wrapped a second time.
    async fn handle_output(
        &self,
        args: Value,
        extra: RequestHandlerExtra,
    ) -> pmcp::Result<ToolOutput> {
        let owner = extra
            .auth_context()
            .map(|a| a.subject.clone())
            .unwrap_or_default();
        let body = self
            .0
            .body
            .prepare(args)
            .map_err(|e| pmcp::Error::invalid_params(e.to_string()))?;
        match body(TaskContext::detached(owner)).await {
            TaskOutcome::Result { value } => serde_json::from_value::<CallToolResult>(value)
                .map(ToolOutput::Result)
                .map_err(|e| pmcp::Error::internal(e.to_string())),
            TaskOutcome::Error { error } => Err(pmcp::Error::protocol(
                pmcp::ErrorCode::other(error.code),
                error.message,
            )),
        }
    }

    fn metadata(&self) -> Option<ToolInfo> {
        let tool = &self.0;
        let mut info = ToolInfo::new(
            tool.name.clone(),
            tool.description.clone(),
            tool.input_schema.clone(),
        );
        info.output_schema = tool.output_schema.clone();
        // pmcp refuses to build a server with a `required` tool and no pmcp
        // task store; we serve tasks ourselves and put the real value back
        // into `tools/list` (see `dispatch::patch_tools_list`).
        let declared = match tool.support {
            TaskSupport::Required => TaskSupport::Optional,
            other => other,
        };
        info.execution = Some(ToolExecution::new().with_task_support(wire_support(declared)));
        Some(info)
    }
}
