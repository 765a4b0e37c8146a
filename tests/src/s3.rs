//! An S3 server in the test process (s3s + s3s-fs, SigV4 verified): the stand-in for MinIO in
//! the production profile. Objects land as files under `root/bucket/key`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::LazyLock;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const ACCESS_KEY: &str = "baedal-test";
pub const SECRET_KEY: &str = "baedal-test-secret";
pub const BUCKET: &str = "mailboxes";

/// The runtime the S3 servers of this test binary run on.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("S3 test runtime")
});

/// Starts an S3 endpoint serving `root` on 127.0.0.1:0; it runs until the test binary ends.
pub fn start(root: &Path) -> SocketAddr {
    start_on(root, "127.0.0.1:0".parse().expect("address"))
}

/// Starts an S3 endpoint serving `root` on `addr`.
pub fn start_on(root: &Path, addr: SocketAddr) -> SocketAddr {
    let server = start_stoppable(root, addr);
    let addr = server.addr;
    // Runs until the test binary ends.
    std::mem::forget(server);
    addr
}

/// An S3 endpoint that can be stopped (an outage) and started again on the same address.
pub struct S3Server {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl S3Server {
    /// Stops listening and drops every open connection.
    pub fn stop(self) {
        self.task.abort();
        let _ = RUNTIME.block_on(self.task);
    }
}

/// Starts an S3 endpoint serving `root` on `addr`, stopped by [`S3Server::stop`].
pub fn start_stoppable(root: &Path, addr: SocketAddr) -> S3Server {
    std::fs::create_dir_all(root).expect("S3 root");
    let root = root.to_path_buf();
    RUNTIME.block_on(async move {
        let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind S3");
        let addr = listener.local_addr().expect("S3 address");
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            // Aborting this task drops the set, which aborts every connection.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                while connections.try_join_next().is_some() {}
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                connections.spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        S3Server { addr, task }
    })
}
