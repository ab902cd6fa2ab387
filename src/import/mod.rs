//! Importing the old MariaDB data: a streaming reader for `mysqldump` / phpMyAdmin exports.

pub mod dump;
