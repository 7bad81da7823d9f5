//! The JSON values a tensor element may be, and which of them each element type accepts.

/// A JSON value where a tensor element is expected.
#[derive(Clone, Copy)]
pub(super) enum Scalar<'a> {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Str(&'a str),
    Null,
    Object,
}

impl Scalar<'_> {
    /// What the client sent, for error messages; strings are not echoed back.
    pub(super) fn describe(self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Unsigned(v) => v.to_string(),
            Scalar::Signed(v) => v.to_string(),
            // Display would spell 1e39 with 39 zeros; Debug keeps the `.0` of `5.0`, which is
            // why an integer element refuses it.
            Scalar::Float(v) if v == 0.0 || (1e-5..1e16).contains(&v.abs()) => format!("{v:?}"),
            Scalar::Float(v) => format!("{v:e}"),
            Scalar::Str(_) => "a string".to_owned(),
            Scalar::Null => "null".to_owned(),
            Scalar::Object => "an object".to_owned(),
        }
    }
}

/// An element type that JSON data decodes into.
pub(super) trait Element: Sized {
    fn from_scalar(s: Scalar<'_>) -> Option<Self>;
    /// What a valid element looks like, for error messages.
    fn expected() -> String;
}

macro_rules! integer_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            // Floats are refused even when integral: a fraction in integer data is a client bug.
            fn from_scalar(s: Scalar<'_>) -> Option<Self> {
                match s {
                    Scalar::Unsigned(v) => <$t>::try_from(v).ok(),
                    Scalar::Signed(v) => <$t>::try_from(v).ok(),
                    _ => None,
                }
            }
            fn expected() -> String {
                format!("an integer in {}..={}", <$t>::MIN, <$t>::MAX)
            }
        }
    )*};
}

integer_element!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Element for bool {
    fn from_scalar(s: Scalar<'_>) -> Option<Self> {
        match s {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }
    fn expected() -> String {
        "true or false".to_owned()
    }
}

impl Element for f32 {
    fn from_scalar(s: Scalar<'_>) -> Option<Self> {
        let v = match s {
            Scalar::Unsigned(v) => v as f32,
            Scalar::Signed(v) => v as f32,
            Scalar::Float(v) => v as f32,
            _ => return None,
        };
        // Finite JSON numbers beyond f32's range would silently become infinities.
        v.is_finite().then_some(v)
    }
    fn expected() -> String {
        format!(
            "a number within FP32 range (magnitude at most {:e})",
            f32::MAX
        )
    }
}

impl Element for f64 {
    fn from_scalar(s: Scalar<'_>) -> Option<Self> {
        match s {
            Scalar::Unsigned(v) => Some(v as f64),
            Scalar::Signed(v) => Some(v as f64),
            Scalar::Float(v) => Some(v),
            _ => None,
        }
    }
    fn expected() -> String {
        "a number".to_owned()
    }
}

impl Element for Vec<u8> {
    fn from_scalar(s: Scalar<'_>) -> Option<Self> {
        match s {
            Scalar::Str(v) => Some(v.as_bytes().to_vec()),
            _ => None,
        }
    }
    fn expected() -> String {
        "a string".to_owned()
    }
}
