//! Code generation of `#[task_tool]`: the user's function unchanged, a
//! function that builds its `TaskTool` (metadata plus one generic call), and
//! an `inventory` registration.

use crate::attr::{Support, ToolArgs};
use crate::model::ToolFn;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// Expands the attribute. On failure the user's item is still emitted, so
/// the rest of the program (and the IDE) keeps working.
pub fn task_tool(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "#[task_tool] goes on an `async fn`, such as `async fn name(args: Args, ctx: TaskContext) -> Result<Output, ToolError>`",
            );
            let mut out = error.into_compile_error();
            out.extend(item);
            return out;
        }
    };
    let attr = ToolArgs::parse(args);
    let model = ToolFn::from_item(item_fn.clone());
    match (attr, model) {
        (Ok(attr), Ok(model)) => generate(&attr, &model),
        (attr, model) => {
            let mut out = quote!(#item_fn);
            if let Err(e) = attr {
                out.extend(e.write_errors());
            }
            if let Err(e) = model {
                out.extend(e.into_compile_error());
            }
            out
        }
    }
}

fn generate(attr: &ToolArgs, model: &ToolFn) -> TokenStream {
    let krate = attr
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::pmcp_tasks));
    let item = &model.item;
    let ident = &item.sig.ident;
    let vis = &item.vis;
    let name = attr
        .name
        .as_ref()
        .map_or_else(|| ident.to_string(), syn::LitStr::value);
    let builder = format_ident!("{}_task_tool", ident);
    let private = quote!(#krate::__private);

    let no_args = quote!(#private::NoArguments);
    let args_ty = match &model.args {
        Some(ty) => quote_spanned!(ty.span()=> #ty),
        None => no_args.clone(),
    };
    let output = &model.output;
    let output_ty = quote_spanned!(output.span()=> #output);
    let error = &model.error;
    let error_ty = quote_spanned!(error.span()=> #error);
    // With arguments the function itself is the handler; without, a
    // closure adds the empty arguments in front of its other parameters.
    let callable = match &model.args {
        Some(_) => quote_spanned!(ident.span()=> #ident),
        None => {
            let params: Vec<_> = (0..model.extras.len())
                .map(|i| format_ident!("__p{}", i))
                .collect();
            let types = &model.extras;
            quote_spanned!(ident.span()=> |_: #no_args, #(#params: #types),*| #ident(#(#params),*))
        }
    };
    // Each state type checked where it is written, so that a type that
    // cannot be state is reported at its own tokens.
    let state_checks = model
        .states
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> #private::assert_state::<#ty>();));

    let description = attr
        .description
        .as_ref()
        .map(syn::LitStr::value)
        .or_else(|| model.doc.clone())
        .map(|d| quote!(.description(#d)));
    let support = attr.support.as_ref().map(|s| {
        let variant = match **s {
            Support::Optional => quote!(Optional),
            Support::Required => quote!(Required),
            Support::Forbidden => quote!(Forbidden),
        };
        quote!(.support(#private::TaskSupport::#variant))
    });
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let ttl = attr.ttl.map(|t| {
        let ms = millis(t.duration);
        quote!(.ttl(#private::Duration::from_millis(#ms)))
    });
    let poll = attr.poll_interval.map(|p| {
        let ms = millis(p.duration);
        quote!(.poll_interval(#private::Duration::from_millis(#ms)))
    });
    let resumable = attr.resumable.is_present().then(|| quote!(.resumable()));
    let detach = attr.detach_after.map(|d| {
        let ms = millis(d.duration);
        quote!(.detach_after(#private::Duration::from_millis(#ms)))
    });
    let immediate = attr
        .immediate
        .as_ref()
        .map(|text| quote!(.immediate(#text)));
    let builder_doc =
        format!("The MCP task tool `{name}` of [`{ident}`], to register it explicitly.");

    quote! {
        #item

        #[doc = #builder_doc]
        #vis fn #builder() -> #krate::TaskTool {
            #(#state_checks)*
            #private::tool::<#args_ty, _, #output_ty, #error_ty, _>(#name, #callable)
                #description #support #ttl #poll #resumable #immediate #detach
        }

        #private::inventory::submit! {
            #private::Registration {
                name: #name,
                location: ::core::concat!(::core::file!(), ":", ::core::line!()),
                make: #builder,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(attr: TokenStream, item: TokenStream) -> String {
        task_tool(attr, item).to_string()
    }

    /// Prints the expansion of a typical tool, for `docs/macros.md`:
    /// `cargo test -p pmcp-tasks-macros print_expansion -- --ignored --nocapture | rustfmt`.
    #[test]
    #[ignore = "prints the expansion measured in docs/macros.md"]
    fn print_expansion() {
        let out = task_tool(
            quote!(support = "optional", ttl = "10m"),
            quote! {
                /// Renders a report.
                async fn render_report(args: ReportArgs, ctx: TaskContext) -> Result<Report, ToolError> {
                    ctx.progress("loading").await?;
                    Ok(Report::from(args))
                }
            },
        );
        println!("{out}");
    }

    #[test]
    fn generates_one_generic_call_and_a_registration() {
        let out = expand(
            quote!(support = "required", ttl = "10m", poll_interval = "2s"),
            quote! {
                /// Renders it.
                async fn render(args: Args, ctx: TaskContext) -> Result<Out, ToolError> { todo!() }
            },
        );
        assert!(out.contains("fn render_task_tool"), "{out}");
        assert!(out.contains(":: pmcp_tasks :: __private :: tool :: < Args , _ , Out , ToolError , _ > (\"render\" , render)"), "{out}");
        assert!(out.contains(". description (\"Renders it.\")"), "{out}");
        assert!(out.contains("TaskSupport :: Required"), "{out}");
        assert!(out.contains("from_millis (600000u64)"), "{out}");
        assert!(out.contains("from_millis (2000u64)"), "{out}");
        assert!(out.contains("inventory :: submit !"), "{out}");
    }

    #[test]
    fn without_context_or_arguments_a_closure_adapts_the_function() {
        let out = expand(
            quote!(),
            quote!(
                async fn ping() -> Result<String, ToolError> {
                    todo!()
                }
            ),
        );
        assert!(out.contains("NoArguments"), "{out}");
        assert!(out.contains("ping ()"), "{out}");
    }

    #[test]
    fn name_and_crate_overrides_apply() {
        let out = expand(
            quote!(name = "report.render", crate = my::reexport),
            quote!(
                async fn r(a: A) -> Result<O, E> {
                    todo!()
                }
            ),
        );
        assert!(out.contains("my :: reexport :: __private :: tool"), "{out}");
        assert!(out.contains("\"report.render\""), "{out}");
    }

    #[test]
    fn on_failure_the_item_is_still_emitted_with_every_error() {
        let out = expand(
            quote!(support = "sometimes", ttl = "0s"),
            quote!(
                fn f<T>(a: T) -> Result<O, E> {
                    todo!()
                }
            ),
        );
        assert!(out.contains("fn f < T >"), "the item survives: {out}");
        assert_eq!(out.matches("compile_error").count(), 4, "{out}");
    }
}
