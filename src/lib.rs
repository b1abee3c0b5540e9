//! secretctl: a self-hosted secrets manager.
//!
//! One binary holds three layers with one-way dependencies:
//! `commands` (the terminal) drives either `server` (HTTP over `store`) or `client`
//! (HTTP calls to a server). `store` owns the redb file and seals every value with
//! `crypto` before it touches disk; `api` holds the JSON wire types both sides share.
//! `alerts` turns audit records into webhook and mail notifications, off the request path.
//! The database never holds a plaintext value, password or token.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod api;
pub mod assets;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod duration;
pub mod gate;
pub mod histogram;
pub mod ids;
pub mod sensitive;
pub mod server;
pub mod service;
pub mod store;
pub mod timefmt;
