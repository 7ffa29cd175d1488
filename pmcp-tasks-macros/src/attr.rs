//! The arguments of `#[task_tool(...)]`, typed at parse time.

use darling::ast::NestedMeta;
use darling::util::SpannedValue;
use darling::FromMeta;
use proc_macro2::TokenStream;
use std::time::Duration;
use syn::LitStr;

/// `support = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromMeta)]
#[darling(rename_all = "snake_case")]
pub enum Support {
    Optional,
    Required,
    Forbidden,
}

/// A duration written as a string (`"10m"`, `"1h 30m"`), checked at parse
/// time and never zero.
#[derive(Debug, Clone, Copy)]
pub struct HumanDuration {
    pub duration: Duration,
}

impl FromMeta for HumanDuration {
    fn from_value(value: &syn::Lit) -> darling::Result<Self> {
        let syn::Lit::Str(text) = value else {
            return Err(darling::Error::custom(
                "write the duration as a string, such as \"10m\", \"30s\" or \"1h 30m\"",
            )
            .with_span(value));
        };
        let duration = humantime::parse_duration(&text.value()).map_err(|e| {
            darling::Error::custom(format!(
                "`{}` is not a duration ({e}); write one such as \"10m\", \"30s\" or \"1h 30m\"",
                text.value()
            ))
            .with_span(text)
        })?;
        if duration.is_zero() {
            return Err(darling::Error::custom(
                "a duration of zero makes no sense here; write a positive one such as \"10m\"",
            )
            .with_span(text));
        }
        if duration.as_millis() > u128::from(u64::MAX) {
            return Err(darling::Error::custom("this duration is too long").with_span(text));
        }
        Ok(HumanDuration { duration })
    }
}

/// Every argument of the attribute.
#[derive(Debug, Default, FromMeta)]
pub struct ToolArgs {
    pub support: Option<SpannedValue<Support>>,
    pub ttl: Option<HumanDuration>,
    pub poll_interval: Option<HumanDuration>,
    pub name: Option<LitStr>,
    pub description: Option<LitStr>,
    /// What the model is told at once when the task is created (see
    /// `TaskTool::immediate`).
    pub immediate: Option<LitStr>,
    /// The body may run again after its server died (see
    /// `TaskTool::resumable`).
    pub resumable: darling::util::Flag,
    /// A plain call answers that the job goes on after this long (see
    /// `TaskTool::detach_after`).
    pub detach_after: Option<HumanDuration>,
    #[darling(rename = "crate")]
    pub krate: Option<syn::Path>,
}

impl ToolArgs {
    /// Parses the attribute's tokens, reporting every problem at once.
    pub fn parse(tokens: TokenStream) -> darling::Result<Self> {
        let items = NestedMeta::parse_meta_list(tokens)?;
        let args = ToolArgs::from_list(&items)?;
        if let Some(name) = &args.name {
            check_tool_name(name)?;
        }
        Ok(args)
    }
}

/// MCP tool names: 1 to 128 of `A-Z a-z 0-9 _ - .`.
fn check_tool_name(name: &LitStr) -> darling::Result<()> {
    let value = name.value();
    let valid = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(darling::Error::custom(format!(
            "`{value}` is not a valid tool name: use 1 to 128 letters, digits, `_`, `-` or `.`"
        ))
        .with_span(&name.span()))
    }
}
