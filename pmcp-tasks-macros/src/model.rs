//! The annotated function, checked and reduced to what code generation
//! needs. The original item is kept so it can be emitted unchanged.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

/// A function `#[task_tool]` can wrap.
pub struct ToolFn {
    pub item: ItemFn,
    /// The arguments' type, if the function takes arguments.
    pub args: Option<Type>,
    /// The types of the parameters after the arguments (`TaskContext`,
    /// `State<T>`), in order.
    pub extras: Vec<Type>,
    /// The `T` of each `State<T>` parameter, to check it can be state.
    pub states: Vec<Type>,
    /// `O` of `Result<O, E>`.
    pub output: Type,
    /// `E` of `Result<O, E>`.
    pub error: Type,
    /// The doc comment, for the default description.
    pub doc: Option<String>,
}

fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "TaskContext" && s.arguments.is_none()))
}

fn is_context_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if is_context(&r.elem))
}

/// The `T` of `State<T>`.
fn state_of(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last().filter(|s| s.ident == "State")?;
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    match generics.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

fn is_state_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if state_of(&r.elem).is_some())
}

/// Parameters a task tool may take after its arguments (the arities of
/// `ToolHandler`).
const MAX_EXTRAS: usize = 3;

/// Collects several errors into one.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }
}

impl ToolFn {
    /// Checks `item` and reports every problem at once, each at its token.
    pub fn from_item(item: ItemFn) -> syn::Result<ToolFn> {
        let mut errors = Errors::default();
        let sig = &item.sig;
        if sig.asyncness.is_none() {
            errors.push(syn::Error::new(
                sig.fn_token.span(),
                "#[task_tool] needs an `async fn`: write `async fn` here",
            ));
        }
        if !sig.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &sig.generics,
                "a task tool cannot be generic: use concrete argument and output types, so their JSON schemas can be generated",
            ));
        }
        if let Some(clause) = &sig.generics.where_clause {
            errors.push(syn::Error::new_spanned(
                clause,
                "a task tool cannot have a `where` clause: use concrete types",
            ));
        }
        if let Some(variadic) = &sig.variadic {
            errors.push(syn::Error::new(
                variadic.span(),
                "a task tool cannot be variadic",
            ));
        }
        let mut args = None;
        let mut extras: Vec<Type> = Vec::new();
        let mut states: Vec<Type> = Vec::new();
        let mut has_ctx = false;
        for (index, input) in sig.inputs.iter().enumerate() {
            let ty = match input {
                FnArg::Receiver(receiver) => {
                    errors.push(syn::Error::new_spanned(
                        receiver,
                        "#[task_tool] goes on a free function, not a method: move it out of the `impl` block, and give it what `self` held as a `State<T>` parameter (with `.state(value)` on the server builder)",
                    ));
                    continue;
                }
                FnArg::Typed(typed) => &*typed.ty,
            };
            if is_context_ref(ty) {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "take the context by value: write `ctx: TaskContext`",
                ));
            } else if is_state_ref(ty) {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "take the state by value: write `State(value): State<T>` (share it behind an `Arc` to make the per-task clone cheap)",
                ));
            } else if is_context(ty) {
                if has_ctx {
                    errors.push(syn::Error::new_spanned(
                        ty,
                        "a task tool takes one context: remove this second `TaskContext`",
                    ));
                }
                has_ctx = true;
                extras.push(ty.clone());
            } else if let Some(inner) = state_of(ty) {
                states.push(inner.clone());
                extras.push(ty.clone());
            } else if index == 0 {
                args = Some(ty.clone());
            } else if args.is_none() {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "the arguments come first: write `(args: Args, ctx: TaskContext)`, with any `State<T>` after the arguments",
                ));
            } else {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "after the arguments, a task tool takes only `ctx: TaskContext` and `State<T>` parameters: put this value in the arguments type, or give it to the server with `.state(value)` and take it as `State<T>`",
                ));
            }
        }
        if extras.len() > MAX_EXTRAS {
            errors.push(syn::Error::new_spanned(
                &extras[MAX_EXTRAS],
                "a task tool takes at most three parameters after its arguments: group the states into one struct and take `State<ThatStruct>`",
            ));
        }
        let result = result_types(&sig.output);
        if let Err(e) = &result {
            errors.push(e.clone());
        }
        if let Some(all) = errors.0 {
            return Err(all);
        }
        let (output, error) = result?;
        let doc = doc_comment(&item.attrs);
        Ok(ToolFn {
            item,
            args,
            extras,
            states,
            output,
            error,
            doc,
        })
    }
}

/// `O` and `E` of `-> Result<O, E>`.
fn result_types(output: &ReturnType) -> syn::Result<(Type, Type)> {
    const HELP: &str = "a task tool returns `Result<Output, Error>`: write for example `-> Result<String, ToolError>`";
    let ReturnType::Type(_, ty) = output else {
        return Err(syn::Error::new_spanned(output, HELP));
    };
    let Type::Path(path) = &**ty else {
        return Err(syn::Error::new_spanned(ty, HELP));
    };
    let last = path.path.segments.last().filter(|s| s.ident == "Result");
    let Some(PathArguments::AngleBracketed(generics)) = last.map(|s| &s.arguments) else {
        return Err(syn::Error::new_spanned(ty, HELP));
    };
    let types: Vec<&Type> = generics
        .args
        .iter()
        .filter_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [ok, err] => Ok(((*ok).clone(), (*err).clone())),
        _ => Err(syn::Error::new_spanned(
            generics,
            "name both types of the result: write `Result<Output, Error>` (an alias such as `anyhow::Result<T>` hides the error type)",
        )),
    }
}

/// The `///` lines, trimmed and joined.
fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}
