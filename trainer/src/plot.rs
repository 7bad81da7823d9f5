//! Evaluation charts a person looks at, drawn as PNG files.
