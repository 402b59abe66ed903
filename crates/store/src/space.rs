//! Where the database file's bytes are: the pages of every table and index (SQLite's `dbstat`
//! virtual table), for the storage benchmark's steady state and for anyone asking why the file
//! is the size it is.

use crate::Store;
use crate::error::Result;

/// The pages of one table or index of the main database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpace {
    /// The table's or index's name (`sqlite_schema` included).
    pub name: String,
    /// Bytes of its pages.
    pub bytes: u64,
    /// Bytes of those pages that hold nothing (free space inside used pages).
    pub unused: u64,
    /// Its pages.
    pub pages: u64,
}

impl Store {
    /// Every table's and index's pages, largest first. The pages on the free list (freed by
    /// deletes, reused by later writes) belong to none. Reads every page of the file: for a
    /// benchmark or an operator's question, never for a request.
    pub fn space_by_table(&self) -> Result<Vec<TableSpace>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT name, SUM(pgsize), SUM(unused), COUNT(*) FROM dbstat \
             GROUP BY name ORDER BY 2 DESC, name",
        )?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let rows = stmt.query_map([], |r| {
            Ok(TableSpace {
                name: r.get(0)?,
                bytes: count(r.get(1)?),
                unused: count(r.get(2)?),
                pages: count(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::store_with_snapshots_a_minute_apart;

    #[test]
    fn a_table_grows_by_whole_pages_as_rows_are_stored() {
        let (store, _, _) = store_with_snapshots_a_minute_apart(1);
        let of = |name: &str| {
            let space = store.space_by_table().unwrap();
            space.into_iter().find(|t| t.name == name).unwrap()
        };
        let before = of("metrics_snapshots");
        let (more, _, _) = store_with_snapshots_a_minute_apart(200);
        let after = more
            .space_by_table()
            .unwrap()
            .into_iter()
            .find(|t| t.name == "metrics_snapshots")
            .unwrap();
        let page = before.bytes / before.pages;
        assert!(page >= 512, "{before:?}");
        assert!(after.pages > before.pages, "{before:?} then {after:?}");
        assert_eq!(after.bytes, after.pages * page);
        assert!(after.unused < after.bytes);
        let all = more.space_by_table().unwrap();
        assert!(
            all.windows(2).all(|w| w[0].bytes >= w[1].bytes),
            "largest first"
        );
        assert!(all.iter().any(|t| t.name == "sqlite_schema"));
    }
}
