//! Integration tests: the real `secretctl` binary, serving on a free port over a temp data
//! dir, driven over HTTP and through the CLI.

mod abuse;
mod access_matrix;
mod account;
mod alerts;
mod api;
mod assets;
mod audit;
mod browser;
mod cli;
mod hardening;
mod http_layer;
mod keys;
mod lifecycle;
mod routes;
mod run;
mod shares;
mod shutdown;
mod teams;
mod tls;
mod tokens;
mod util;
