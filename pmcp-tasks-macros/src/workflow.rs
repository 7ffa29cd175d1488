//! `#[task_workflow]`: registers a function that builds a pmcp
//! `SequentialWorkflow`, to be served as a prompt in task mode.

use darling::ast::NestedMeta;
use darling::FromMeta;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The attribute's only argument: `crate = path` for re-exports.
#[derive(Debug, Default, FromMeta)]
struct WorkflowArgs {
    #[darling(rename = "crate")]
    krate: Option<syn::Path>,
}

const SHAPE: &str =
    "#[task_workflow] goes on a plain function with no parameters that builds the workflow: `fn name() -> SequentialWorkflow`";

/// Expands the attribute; on failure the item is still emitted.
pub fn task_workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let mut out =
                syn::Error::new(proc_macro2::Span::call_site(), SHAPE).into_compile_error();
            out.extend(item);
            return out;
        }
    };
    let args = NestedMeta::parse_meta_list(args)
        .map_err(darling::Error::from)
        .and_then(|list| WorkflowArgs::from_list(&list));
    let args = match args {
        Ok(args) => args,
        Err(e) => {
            let mut out = e.write_errors();
            out.extend(quote!(#item_fn));
            return out;
        }
    };
    let sig = &item_fn.sig;
    let problem = if let Some(asyncness) = sig.asyncness {
        Some((
            asyncness.span(),
            "a workflow is built, not awaited: remove `async`",
        ))
    } else if !sig.inputs.is_empty() {
        Some((
            sig.inputs.span(),
            "the workflow builder takes no parameters",
        ))
    } else if !sig.generics.params.is_empty() {
        Some((
            sig.generics.span(),
            "the workflow builder cannot be generic",
        ))
    } else if matches!(sig.output, syn::ReturnType::Default) {
        Some((
            sig.ident.span(),
            "the function must return the workflow: `-> SequentialWorkflow`",
        ))
    } else {
        None
    };
    if let Some((span, message)) = problem {
        let mut out = syn::Error::new(span, format!("{message} ({SHAPE})")).into_compile_error();
        out.extend(quote!(#item_fn));
        return out;
    }
    let krate = args
        .krate
        .unwrap_or_else(|| syn::parse_quote!(::pmcp_tasks));
    let private = quote!(#krate::__private);
    let ident = &sig.ident;
    let make = match &sig.output {
        syn::ReturnType::Type(_, ty) => {
            let check = quote_spanned!(ty.span()=> #private::workflow::<#ty>(#ident));
            quote!({
                fn make() -> #private::SequentialWorkflow {
                    #check
                }
                make
            })
        }
        syn::ReturnType::Default => unreachable!("refused above"),
    };
    quote! {
        #item_fn

        #private::inventory::submit! {
            #private::WorkflowRegistration {
                location: ::core::concat!(::core::file!(), ":", ::core::line!()),
                make: #make,
            }
        }
    }
}
