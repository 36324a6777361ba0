//! Statements with many rows: placeholders per backend, multi-row inserts, and the queue's
//! insert of many commands.

use casement_store::*;
use sqlx::{Any, AssertSqlSafe, Transaction};

use crate::map_err;

/// Placeholders of a statement with many parameters: `$1, $2, …` for PostgreSQL, and `?` for
/// SQLite, where numbered names cost a lookup per parameter that grows with their count
/// (`sqlite3_bind_parameter_name` scans the statement's parameter list); `?` binds in order.
pub(crate) struct Placeholders {
    numbered: bool,
    next: usize,
}

impl Placeholders {
    /// Placeholders for the backend of `conn`.
    pub(crate) fn for_connection(conn: &sqlx::AnyConnection) -> Self {
        Placeholders {
            numbered: !conn.backend_name().eq_ignore_ascii_case("sqlite"),
            next: 0,
        }
    }

    /// The next parameter's placeholder (bind in the same order).
    pub(crate) fn next(&mut self) -> String {
        self.next += 1;
        if self.numbered {
            format!("${}", self.next)
        } else {
            "?".to_owned()
        }
    }

    /// `n` placeholders in parentheses: one row of a VALUES list.
    pub(crate) fn row(&mut self, n: usize) -> String {
        let mut row = String::from("(");
        for i in 0..n {
            if i > 0 {
                row.push_str(", ");
            }
            row.push_str(&self.next());
        }
        row.push(')');
        row
    }
}

/// `INSERT … VALUES (…), (…), …` for `rows` rows of `columns` parameters, then `suffix`.
pub(crate) fn multi_row_insert(
    conn: &sqlx::AnyConnection,
    head: &str,
    columns: usize,
    rows: usize,
    suffix: &str,
) -> String {
    let mut p = Placeholders::for_connection(conn);
    let mut sql = String::with_capacity(head.len() + rows * columns * 5 + suffix.len());
    sql.push_str(head);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&p.row(columns));
    }
    sql.push_str(suffix);
    sql
}

pub(crate) async fn insert_commands(
    tx: &mut Transaction<'_, Any>,
    commands: &[NewCommand],
) -> StoreResult<()> {
    // Many rows per statement (a fleet's enrollment, a bulk queue by ids): 14 parameters a row,
    // well under SQLite's 32766 and PostgreSQL's 65535 parameters per statement.
    const ROWS: usize = 256;
    for chunk in commands.chunks(ROWS) {
        let sql = multi_row_insert(
            tx,
            "INSERT INTO commands (id, device_id, kind, class, label, payload, secret, max_attempts, created_at, updated_at, expires_at, created_by, state, attempts) VALUES ",
            14,
            chunk.len(),
            "",
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for c in chunk {
            query = query
                .bind(&c.id)
                .bind(&c.device_id)
                .bind(c.kind.as_str())
                .bind(c.class.as_str())
                .bind(&c.label)
                .bind(&c.payload)
                .bind(i64::from(c.secret))
                .bind(i64::from(c.max_attempts))
                .bind(c.created_at)
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(&c.created_by)
                .bind(CommandState::Pending.as_str())
                .bind(0i64);
        }
        query.execute(&mut **tx).await.map_err(map_err)?;
    }
    Ok(())
}
