//! `#[derive(TaskVariables)]`: one typed accessor trio per field.

use darling::{FromDeriveInput, FromField};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

#[derive(FromField)]
#[darling(attributes(task_var))]
struct Field {
    ident: Option<syn::Ident>,
    ty: syn::Type,
    /// The variable's name on the wire, when it differs from the field's.
    rename: Option<syn::LitStr>,
}

#[derive(FromDeriveInput)]
#[darling(attributes(task_var), supports(struct_named))]
struct Input {
    ident: syn::Ident,
    vis: syn::Visibility,
    data: darling::ast::Data<(), Field>,
    #[darling(rename = "crate")]
    krate: Option<syn::Path>,
}

/// Expands the derive.
pub fn derive(input: TokenStream) -> syn::Result<TokenStream> {
    let parsed: syn::DeriveInput = syn::parse2(input)?;
    let explain = |span: proc_macro2::Span| {
        syn::Error::new(
            span,
            "#[derive(TaskVariables)] needs a struct with named fields, one per variable: write `struct MyVars { approved: bool }`",
        )
    };
    match &parsed.data {
        syn::Data::Enum(e) => return Err(explain(e.enum_token.span())),
        syn::Data::Union(u) => return Err(explain(u.union_token.span())),
        syn::Data::Struct(s) if !matches!(s.fields, syn::Fields::Named(_)) => {
            return Err(if s.fields.is_empty() {
                explain(parsed.ident.span())
            } else {
                syn::Error::new_spanned(&s.fields, explain(parsed.ident.span()).to_string())
            })
        }
        _ => {}
    }
    if !parsed.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &parsed.generics,
            "#[derive(TaskVariables)] cannot be generic: each variable needs a concrete type",
        ));
    }
    let input = Input::from_derive_input(&parsed).map_err(syn::Error::from)?;
    let krate = input
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::pmcp_tasks));
    let fields = input.data.take_struct().expect("checked: a struct").fields;
    let ident = &input.ident;
    let vis = &input.vis;
    let access = format_ident!("{}Access", ident);
    let mut names: Vec<String> = Vec::new();
    let mut methods = Vec::new();
    let mut saves = Vec::new();
    for field in &fields {
        let field_ident = field.ident.as_ref().expect("checked: named fields");
        let field_name = field_ident.to_string();
        let field_name = field_name.strip_prefix("r#").unwrap_or(&field_name);
        let name = match &field.rename {
            Some(rename) if rename.value().is_empty() => {
                return Err(syn::Error::new(
                    rename.span(),
                    "a variable name cannot be empty",
                ))
            }
            Some(rename) => rename.value(),
            None => field_name.to_owned(),
        };
        if names.contains(&name) {
            let culprit = match &field.rename {
                Some(rename) => syn::Error::new_spanned(rename, ""),
                None => syn::Error::new_spanned(field_ident, ""),
            };
            return Err(syn::Error::new(
                culprit.span(),
                format!("two fields are both stored as variable `{name}`: give one of them another `#[task_var(rename = \"...\")]`"),
            ));
        }
        let ty = &field.ty;
        let ty_spanned = quote_spanned!(ty.span()=> #ty);
        let get = format_ident!("get_{}", field_name);
        let set = format_ident!("set_{}", field_name);
        let remove = format_ident!("remove_{}", field_name);
        let (get_doc, set_doc, remove_doc) = (
            format!("Reads variable `{name}`; `None` if unset."),
            format!("Writes variable `{name}`."),
            format!("Removes variable `{name}`."),
        );
        methods.push(quote! {
            #[doc = #get_doc]
            pub async fn #get(&self) -> ::core::result::Result<::core::option::Option<#ty_spanned>, #krate::TaskError> {
                self.vars.get::<#ty_spanned>(#name).await
            }
            #[doc = #set_doc]
            pub async fn #set(&self, value: &#ty) -> ::core::result::Result<(), #krate::TaskError> {
                self.vars.set::<#ty_spanned>(#name, value).await
            }
            #[doc = #remove_doc]
            pub async fn #remove(&self) -> ::core::result::Result<(), #krate::TaskError> {
                self.vars.remove(#name).await
            }
        });
        saves.push(quote!(vars.put::<#ty>(&mut patch, #name, &self.#field_ident)?;));
        names.push(name);
    }
    let doc = format!("Typed accessors over the task variables of [`{ident}`]; get them with `ctx.vars::<{ident}>()`.");
    Ok(quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy)]
        #vis struct #access<'a> {
            vars: #krate::__private::VariableAccess<'a>,
        }

        impl<'a> #access<'a> {
            #(#methods)*
        }

        // Not `#[automatically_derived]`: `save` reads every field, and
        // rustc would otherwise call the fields of a struct used only as a
        // description of variables "never read".
        impl #krate::TaskVariables for #ident {
            type Access<'a> = #access<'a>;

            fn access(ctx: &#krate::TaskContext) -> #access<'_> {
                #access { vars: #krate::__private::VariableAccess::new(ctx) }
            }

            const NAMES: &'static [&'static str] = &[#(#names),*];

            fn save<'a>(
                &'a self,
                ctx: &'a #krate::TaskContext,
            ) -> #krate::__private::BoxFuture<'a, ::core::result::Result<(), #krate::TaskError>> {
                ::std::boxed::Box::pin(async move {
                    let vars = #krate::__private::VariableAccess::new(ctx);
                    let mut patch = #krate::__private::serde_json::Map::new();
                    #(#saves)*
                    vars.merge(patch).await
                })
            }
        }
    })
}
