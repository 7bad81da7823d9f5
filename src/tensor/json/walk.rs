//! The streaming walk over a `data` array: checks the flat or nested layout against the shape
//! and pushes each element into a typed vector as it is parsed.

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::element::{Element, Scalar};
use crate::tensor::TensorError;

/// One input's decode parameters.
pub(super) struct Run<'s> {
    pub(super) input: &'s str,
    pub(super) shape: &'s [usize],
    pub(super) count: usize,
}

impl Run<'_> {
    pub(super) fn decode<T: Element>(&self, raw: &RawValue) -> Result<Vec<T>, TensorError> {
        let text = raw.get();
        // Every element takes at least two bytes of text ("1,"), so the text, not a shape the
        // client may have inflated, bounds the allocation.
        let capacity = self.count.min(text.len() / 2 + 1);
        let mut sink = Sink {
            run: self,
            values: Vec::with_capacity(capacity),
            layout: Layout::Unknown,
            error: None,
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = Node {
            sink: &mut sink,
            depth: 0,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if let Some(err) = sink.error {
            return Err(err);
        }
        parsed.map_err(|source| TensorError::MalformedData {
            input: self.input.to_owned(),
            source,
        })?;
        if sink.values.len() != self.count {
            return Err(TensorError::ElementCount {
                input: self.input.to_owned(),
                shape: self.shape.to_vec(),
                expected: self.count,
                actual: sink.values.len(),
            });
        }
        Ok(sink.values)
    }
}

/// Whether the data is one flat array or arrays nested like the shape; set by the first
/// element of the outer array.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Unknown,
    Flat,
    Nested,
}

/// Decoding state shared by every level of the walk. The first error is kept here because
/// serde's error type can only carry a string.
struct Sink<'r, 's, T> {
    run: &'r Run<'s>,
    values: Vec<T>,
    layout: Layout,
    error: Option<TensorError>,
}

impl<T> Sink<'_, '_, T> {
    /// Keeps `err` and returns a serde error that stops the parse; [`Run::decode`] reports
    /// the kept error instead of the serde one.
    fn fail<E: de::Error>(&mut self, err: TensorError) -> E {
        self.error = Some(err);
        E::custom("invalid tensor data")
    }

    fn input(&self) -> String {
        self.run.input.to_owned()
    }

    fn shape(&self) -> Vec<usize> {
        self.run.shape.to_vec()
    }
}

/// A JSON value at `depth` arrays deep (the outer `data` array is depth 0).
struct Node<'a, 'r, 's, T> {
    sink: &'a mut Sink<'r, 's, T>,
    depth: usize,
}

impl<'de, T: Element> DeserializeSeed<'de> for Node<'_, '_, '_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<T: Element> Node<'_, '_, '_, T> {
    fn scalar<E: de::Error>(self, s: Scalar<'_>) -> Result<(), E> {
        let sink = self.sink;
        let rank = sink.run.shape.len();
        match (self.depth, sink.layout) {
            (0, _) => {
                return Err(sink.fail(TensorError::DataNotArray {
                    input: sink.input(),
                }));
            }
            (_, Layout::Unknown) => sink.layout = Layout::Flat,
            (_, Layout::Flat) => {}
            (depth, Layout::Nested) if depth < rank => {
                let err = TensorError::NestedTooShallow {
                    input: sink.input(),
                    dim: depth,
                    shape: sink.shape(),
                };
                return Err(sink.fail(err));
            }
            (_, Layout::Nested) => {}
        }
        match T::from_scalar(s) {
            Some(v) => {
                sink.values.push(v);
                Ok(())
            }
            None => {
                let err = TensorError::InvalidElement {
                    input: sink.input(),
                    index: sink.values.len(),
                    found: s.describe(),
                    expected: T::expected(),
                };
                Err(sink.fail(err))
            }
        }
    }
}

impl<'de, T: Element> Visitor<'de> for Node<'_, '_, '_, T> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of tensor elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (sink, depth) = (self.sink, self.depth);
        if depth > 0 {
            let err = match sink.layout {
                Layout::Flat => Some(TensorError::MixedNesting {
                    input: sink.input(),
                    shape: sink.shape(),
                }),
                _ if depth >= sink.run.shape.len() => Some(TensorError::NestedTooDeep {
                    input: sink.input(),
                    shape: sink.shape(),
                }),
                _ => None,
            };
            if let Some(err) = err {
                return Err(sink.fail(err));
            }
            sink.layout = Layout::Nested;
        }
        let mut len = 0usize;
        while let Some(()) = seq.next_element_seed(Node {
            sink: &mut *sink,
            depth: depth + 1,
        })? {
            len += 1;
        }
        let expected = sink.run.shape.get(depth).copied();
        if let (Layout::Nested, Some(expected)) = (sink.layout, expected)
            && len != expected
        {
            let err = TensorError::DimensionLength {
                input: sink.input(),
                dim: depth,
                shape: sink.shape(),
                expected,
                actual: len,
            };
            return Err(sink.fail(err));
        }
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Scalar::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(Scalar::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Scalar::Signed(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Scalar::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Scalar::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Scalar::Null)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        self.scalar(Scalar::Object)
    }
}
