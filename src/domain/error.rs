/// Something the user asked for that the rules do not allow: a stable machine `code`, a
/// Norwegian `message` for people, and the input `field` it concerns, if one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DomainError {
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

impl DomainError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn on(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }
}
