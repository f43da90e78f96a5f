//! [`listed_enum!`]: an enum declared together with the list of its
//! variants (`ALL`), so the list cannot miss one a later change adds.

/// Declares `enum` and `impl { pub const ALL }` with every variant, in
/// order. Attributes and doc comments pass through.
macro_rules! listed_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident,)*
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
        }
    };
}

pub(crate) use listed_enum;
