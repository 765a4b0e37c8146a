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

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Directory(DirectoryError::Address(_)) | Self::Password(_) | Self::Input(_) => 2,
            _ => 1,
        }
    }
}
