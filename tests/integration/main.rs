//! Integration tests: the real `secretctl` binary, serving on a free port over a temp data
//! dir, driven over HTTP and through the CLI.

mod abuse;
mod access_matrix;
mod account;
mod account_lifecycle;
mod admin_users;
mod alerts;
mod api;
mod archive;
mod assets;
mod audit;
mod audit_names;
mod backup;
mod browser;
mod cli;
mod crash;
mod disk;
mod hardening;
mod http_layer;
mod keys;
mod lifecycle;
mod metrics;
mod migration;
mod routes;
mod run;
mod share_urls;
mod shares;
mod shutdown;
mod systemd_unit;
mod teams;
mod tls;
mod tokens;
mod util;
mod versions;
