use baedal_auth::AuthError;
use baedal_auth::password::PasswordError;
use baedal_storage::{DirectoryError, DkimStoreError, QueueError};

/// A command's failure. `exit_code` tells scripts which kind: 1 when the action could not be
/// done (unknown or duplicate entries, database trouble), 2 when the input was wrong.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Failed(String),
    #[error("cannot read the password: {0}")]
    Io(#[from] std::io::Error),
    /// The actor's role does not allow the action (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// No such object, or one outside the actor's domains (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// One field of the input is wrong (HTTP 400 naming the field).
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
}

impl From<DkimStoreError> for AdminError {
    fn from(e: DkimStoreError) -> Self {
        Self::Failed(e.to_string())
    }
}

impl From<QueueError> for AdminError {
    fn from(e: QueueError) -> Self {
        Self::Failed(e.to_string())
    }
}

impl From<baedal_storage::AdminStoreError> for AdminError {
    fn from(e: baedal_storage::AdminStoreError) -> Self {
        use baedal_storage::AdminStoreError as E;
        match e {
            E::Unknown(_) => Self::NotFound(e.to_string()),
            E::Invalid(m) => Self::Input(m),
            E::Exists(_) | E::Sql(_) => Self::Failed(e.to_string()),
        }
    }
}

impl AdminError {
    /// Bad input in `field`.
    pub fn field(field: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Field {
            field,
            message: message.to_string(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Directory(DirectoryError::Address(_))
            | Self::Password(_)
            | Self::Input(_)
            | Self::Field { .. } => 2,
            _ => 1,
        }
    }
}
