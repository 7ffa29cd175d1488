//! The shapes of function a task tool can be: its arguments, then up to
//! three parameters each a [`TaskContext`] or a [`State`](crate::State), in
//! any order.

use crate::error::ToolError;
use crate::execution::TaskContext;
use crate::state::{FromTaskContext, StateNeed};
use std::future::Future;

/// A function `async fn(args: A, p1, p2, ..)` usable as a task tool, where
/// every `p` is a [`FromTaskContext`] parameter (the tuple `X` of their
/// types tells the shapes apart). Implemented for every such function and
/// closure; not implemented by hand.
#[diagnostic::on_unimplemented(
    message = "this function cannot be a task tool",
    label = "a task tool is `async fn(args: Args, ...)`: the arguments, then only `TaskContext` and `State<T>` parameters",
    note = "every parameter after the arguments must be `TaskContext` or `State<T>`, at most three of them"
)]
pub trait ToolHandler<A, X>: Send + Sync + 'static {
    /// The future of one call.
    type Future: Future;

    /// Takes the parameters from `ctx` and calls the function; a state the
    /// context lacks is an error.
    #[doc(hidden)]
    fn call(&self, args: A, ctx: TaskContext) -> Result<Self::Future, ToolError>;

    /// The states the function takes, checked when the server is built.
    #[doc(hidden)]
    fn needs() -> Vec<StateNeed>;
}

macro_rules! handler {
    ($($p:ident),*) => {
        impl<F, Fut, A, $($p,)*> ToolHandler<A, ($($p,)*)> for F
        where
            F: Fn(A, $($p,)*) -> Fut + Send + Sync + 'static,
            Fut: Future,
            $($p: FromTaskContext,)*
        {
            type Future = Fut;

            #[allow(non_snake_case, unused_variables)]
            fn call(&self, args: A, ctx: TaskContext) -> Result<Fut, ToolError> {
                $(let $p = $p::from_context(&ctx)?;)*
                Ok(self(args, $($p,)*))
            }

            fn needs() -> Vec<StateNeed> {
                let all: Vec<Option<StateNeed>> = vec![$($p::need()),*];
                all.into_iter().flatten().collect()
            }
        }
    };
}

handler!();
handler!(P1);
handler!(P1, P2);
handler!(P1, P2, P3);
