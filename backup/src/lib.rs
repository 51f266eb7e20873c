//! `crm-backup`: the backup node. It runs on a machine of its own, follows
//! the central server's update log continuously, checks what it holds, and
//! builds a working server data directory from it when one is needed.
//!
//! Code map:
//! - [`store`]: the backup's SQLite file and all its SQL.
//! - [`private`]: its directory and files, readable by their owner only.
//! - [`link`]: logging in as a backup operator; the HTTPS client.
//! - [`follow`]: `run`, the pull loop.
//! - [`verify`]: `verify`, local checks and the comparison with the server.
//! - [`restore`]: `restore`, to the latest state or to a point in time.
//!
//! **Architecture Invariant:** the node only ever reads from the server
//! (`/api/v1/backup/*`), and the server never waits for it, except in
//! zero-loss mode (the server's `backup` module).

pub mod follow;
pub mod link;
pub mod private;
pub mod restore;
pub mod store;
pub mod verify;
