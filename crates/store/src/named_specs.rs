//! A table of definitions created through the API, each a named spec stored as JSON with its
//! creation and update times: `alert_rules` ([`crate::alerts`]) and `custom_metrics`
//! ([`crate::custom_metrics`]). One implementation of their reads and writes.

use rusqlite::params;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::Store;
use crate::columns::{get, to_ms};
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::snapshots::query_all;

/// One such table: `(name TEXT PRIMARY KEY, spec TEXT, created_at, updated_at)`.
pub(crate) struct NamedSpecs {
    /// The table (a literal of this crate).
    pub(crate) table: &'static str,
    /// What a spec is, with its article, for errors: `an alert rule`.
    pub(crate) what: &'static str,
}

impl NamedSpecs {
    fn to_json(&self, spec: &impl Serialize) -> Result<String> {
        serde_json::to_string(spec).map_err(|e| {
            Error::corrupt(
                format_args!("{}.spec", self.table),
                format_args!("cannot encode: {e}"),
            )
        })
    }

    fn conflict(&self, name: &str) -> Error {
        Error::Conflict(format!("{} named `{name}` already exists", self.what))
    }

    /// Every spec, in the order they were created.
    pub(crate) fn all<T: DeserializeOwned>(&self, store: &Store) -> Result<Vec<T>> {
        let conn = store.conn()?;
        let table = self.table;
        query_all(
            &conn,
            &format!("SELECT name, spec FROM {table} ORDER BY created_at, rowid"),
            &[],
            |row| {
                let name: String = get(row, 0, table, "name")?;
                let spec: String = get(row, 1, table, "spec")?;
                serde_json::from_str(&spec).map_err(|e| {
                    Error::corrupt(
                        format_args!("{table}.spec of `{name}`"),
                        format_args!("not {}: {e}", self.what),
                    )
                })
            },
        )
    }

    /// Stores a new spec named `name`; [`Error::Conflict`] when one of that name is stored.
    pub(crate) fn insert(&self, store: &Store, name: &str, spec: &impl Serialize) -> Result<()> {
        store.tracked((|| {
            let json = self.to_json(spec)?;
            let now = to_ms(OffsetDateTime::now_utc());
            let conn = store.conn()?;
            let _turn = store.write_turn();
            conn.prepare_cached(&format!(
                "INSERT INTO {} (name, spec, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
                self.table
            ))?
            .execute(params![name, json, now])
            .map_err(|e| match constraint_of(&e) {
                Some(Constraint::Unique) => self.conflict(name),
                _ => Error::Sqlite(e),
            })?;
            Ok(())
        })())
    }

    /// Replaces the spec `name` with `spec`, named `new_name` (a rename when it differs);
    /// `false` when there is no such spec, [`Error::Conflict`] when renaming onto another one.
    pub(crate) fn replace(
        &self,
        store: &Store,
        name: &str,
        new_name: &str,
        spec: &impl Serialize,
    ) -> Result<bool> {
        store.tracked((|| {
            let json = self.to_json(spec)?;
            let now = to_ms(OffsetDateTime::now_utc());
            let conn = store.conn()?;
            let _turn = store.write_turn();
            let changed = conn
                .prepare_cached(&format!(
                    "UPDATE {} SET name = ?2, spec = ?3, updated_at = ?4 WHERE name = ?1",
                    self.table
                ))?
                .execute(params![name, new_name, json, now])
                .map_err(|e| match constraint_of(&e) {
                    Some(Constraint::Unique) => self.conflict(new_name),
                    _ => Error::Sqlite(e),
                })?;
            Ok(changed > 0)
        })())
    }

    /// Deletes the spec `name`; `false` when there is no such spec.
    pub(crate) fn delete(&self, store: &Store, name: &str) -> Result<bool> {
        store.tracked((|| {
            let conn = store.conn()?;
            let _turn = store.write_turn();
            let changed = conn
                .prepare_cached(&format!("DELETE FROM {} WHERE name = ?1", self.table))?
                .execute([name])?;
            Ok(changed > 0)
        })())
    }
}
