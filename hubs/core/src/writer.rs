//! A hub's hot paths on SQLite: whole operations run on one thread, committed in groups.
//!
//! # Why
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every *statement*: a
//! transaction of five statements is five round trips between threads, each one a wake-up and
//! a context switch, and the connection is held meanwhile. Under load the message flow spent
//! half its CPU switching threads this way, and the one connection sat idle between the
//! statements of the transaction that held it.
//!
//! A [`SqliteWriter`] owns a connection of its own on a dedicated thread. Callers hand it whole
//! operations (closures over a [`rusqlite::Connection`]); the thread runs every operation that
//! queued meanwhile inside **one transaction**, each in a savepoint of its own (when there are
//! several), commits once, and only then answers each caller. So an operation costs one
//! hand-off however many statements it has, and a burst of operations costs one commit.
//!
//! An operation that fails is rolled back to its savepoint and fails alone; the others commit.
//! If the commit fails, every operation of the group fails. An operation that panics fails
//! with an internal error; the thread goes on.
//!
//! **Checkpoints** (copying the WAL back into the database file, with an `fsync` of each) run on
//! a second thread with a connection of its own, so the writer never waits for the disk: it
//! commits into the WAL and goes on. SQLite's own automatic checkpoint would run them on the
//! writer, inside the commit that crossed 1,000 pages, and every caller queued behind it waited
//! for the two `fsync`s (tens of milliseconds on a busy disk). The writer learns the WAL's size
//! from SQLite's WAL hook after each commit and asks for a checkpoint every
//! [`CHECKPOINT_PAGES`] new pages. Under writes that never pause, those checkpoints cannot reach
//! the end of the log, and SQLite starts a log over only once all of it was copied back: past
//! [`WAL_LIMIT_PAGES`] the writer checkpoints itself, between two groups, which bounds the file.
//!
//! **Reads** of those paths do not queue behind the writes: [`SqliteWriter::read`] runs them
//! on the calling thread, on a read-only connection that thread keeps open, in a read
//! transaction of their own. In WAL mode a reader never waits for the writer, and it sees
//! every operation the writer has answered. A read handed to the writer cost two thread
//! hand-offs and an empty write transaction, and waited for the group ahead of it.
//!
//! Only the paths that run for every message use it; the rest of a hub's queries stay on sqlx,
//! over the same file. SQL is shared between the two: statements keep the `$1` placeholders of
//! the sqlx queries, bound here by name ([`execute`], [`query_opt`], [`query_all`]).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak, mpsc};
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Row, ffi};
use tokio::sync::oneshot;

use crate::db::DbConfig;
use crate::error::{Error, Result};

/// Most operations committed together; more wait for the next group.
const MAX_GROUP: usize = 256;

/// New WAL pages after which the checkpoint thread copies the log back: SQLite's default
/// automatic checkpoint.
const CHECKPOINT_PAGES: i32 = 1000;

/// WAL pages (of 4 KiB) past which the writer checkpoints itself before its next group.
const WAL_LIMIT_PAGES: i32 = 16_000;

/// What the writer and its checkpoint thread share.
#[derive(Debug, Default)]
struct Wal {
    /// Pages in the WAL after the last commit, from SQLite's WAL hook.
    pages: AtomicI32,
    /// Pages of the WAL already copied back by the last checkpoint.
    copied: AtomicI32,
    /// A checkpoint is asked for; `stop` ends the thread.
    wanted: Mutex<Wanted>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct Wanted {
    checkpoint: bool,
    stop: bool,
}

impl Wal {
    /// After a commit: asks the checkpoint thread to copy the log back once enough is new;
    /// true when the log outgrew [`WAL_LIMIT_PAGES`] and the writer must copy it itself.
    fn committed(&self) -> bool {
        let pages = self.pages.load(Ordering::Relaxed);
        if pages >= WAL_LIMIT_PAGES {
            return true;
        }
        // More copied than the log holds: SQLite started the log over since; all of it is new.
        let copied = self.copied.load(Ordering::Relaxed);
        let new = if copied > pages {
            pages
        } else {
            pages - copied
        };
        if new >= CHECKPOINT_PAGES {
            let mut wanted = self.wanted.lock().expect("wal lock");
            if !wanted.checkpoint {
                wanted.checkpoint = true;
                self.ready.notify_one();
            }
        }
        false
    }

    fn stop(&self) {
        self.wanted.lock().expect("wal lock").stop = true;
        self.ready.notify_one();
    }
}

/// SQLite's WAL hook: runs on the writer's thread after each commit, with the log's size.
extern "C" fn wal_hook(
    wal: *mut c_void,
    _db: *mut ffi::sqlite3,
    _name: *const c_char,
    pages: c_int,
) -> c_int {
    // SAFETY: `wal` is the `Wal` that `run` keeps alive for as long as the connection, which
    // is the only one this hook is set on.
    let wal = unsafe { &*(wal as *const Wal) };
    wal.pages.store(pages, Ordering::Relaxed);
    ffi::SQLITE_OK
}

/// Copies the WAL back into the database file (`PASSIVE`: never waits for the writer);
/// returns the pages copied.
fn checkpoint(conn: &Connection) -> rusqlite::Result<i32> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(2))
}

/// The checkpoint thread: copies the log back whenever the writer asks, until it stops.
fn run_checkpoints(conn: Connection, wal: Arc<Wal>) {
    loop {
        {
            let mut wanted = wal.wanted.lock().expect("wal lock");
            while !wanted.checkpoint && !wanted.stop {
                wanted = wal.ready.wait(wanted).expect("wal lock");
            }
            if wanted.stop {
                return;
            }
            wanted.checkpoint = false;
        }
        match checkpoint(&conn) {
            Ok(copied) => wal.copied.store(copied, Ordering::Relaxed),
            Err(error) => tracing::warn!(%error, "a WAL checkpoint failed; the next one retries"),
        }
    }
}

/// The thread that runs a hub's hot operations on its SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    queue: mpsc::Sender<Box<dyn Job>>,
    file: Arc<ReadFile>,
}

/// The file [`SqliteWriter::read`] opens, once per thread. A thread's connections to a file
/// whose writers are all gone are closed at its next read.
#[derive(Debug)]
struct ReadFile {
    id: u64,
    path: PathBuf,
}

/// A thread's read connection to one [`ReadFile`].
struct Reader {
    file: Weak<ReadFile>,
    id: u64,
    conn: Connection,
}

thread_local! {
    static READERS: RefCell<Vec<Reader>> = const { RefCell::new(Vec::new()) };
}

trait Job: Send {
    /// Runs the operation; false when it failed (and must be rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the group's fate is known.
    fn finish(self: Box<Self>, committed: std::result::Result<(), String>);
}

impl std::fmt::Debug for dyn Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

struct Op<T, F> {
    work: Option<F>,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Op<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let out = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(Error::internal_msg("a database operation panicked")));
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, committed: std::result::Result<(), String>) {
        let out = match (committed, self.out) {
            (Ok(()), Some(out)) => out,
            (Ok(()), None) => Err(Error::internal_msg("a database operation did not run")),
            // Its own failure says more than the group's.
            (Err(_), Some(Err(error))) => Err(error),
            (Err(error), _) => Err(Error::Unavailable(format!(
                "the database did not commit: {error}"
            ))),
        };
        let _ = self.reply.send(out);
    }
}

impl SqliteWriter {
    /// Opens a connection to `path` (a database sqlx has created and migrated) on a new thread
    /// named after `hub`.
    pub fn open(path: &Path, hub: &str) -> Result<SqliteWriter> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| Error::internal_msg(format!("opening {}: {e}", path.display())))?;
        // As the sqlx connections are set up (db.rs): WAL, NORMAL sync, foreign keys, and a
        // wait rather than a failure when the sqlx connection holds the write lock. Temporary
        // storage in memory keeps the operations' savepoint journals off temporary files when a
        // big group outgrows SQLite's in-memory spill size.
        conn.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(sql)?;
        conn.set_prepared_statement_cache_capacity(64);
        let checkpoints = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::internal_msg(format!("opening {}: {e}", path.display())))?;
        checkpoints
            .busy_timeout(Duration::from_secs(10))
            .map_err(sql)?;
        let wal = Arc::new(Wal::default());
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name(format!("{hub}-ckpt"))
            .spawn({
                let wal = wal.clone();
                move || run_checkpoints(checkpoints, wal)
            })
            .map_err(Error::internal)?;
        std::thread::Builder::new()
            .name(format!("{hub}-db"))
            .spawn(move || run(conn, jobs, wal))
            .map_err(Error::internal)?;
        static FILES: AtomicU64 = AtomicU64::new(0);
        let file = Arc::new(ReadFile {
            id: FILES.fetch_add(1, Ordering::Relaxed),
            path: path.to_owned(),
        });
        Ok(SqliteWriter { queue, file })
    }

    /// The writer of a hub's database once sqlx has created and migrated it: on SQLite a thread
    /// named after `hub`; none on PostgreSQL, whose hot paths stay on sqlx.
    pub fn for_hub(config: &DbConfig, hub: &str) -> Result<Option<SqliteWriter>> {
        match config {
            DbConfig::Sqlite { path } => SqliteWriter::open(path, hub).map(Some),
            DbConfig::Postgres { .. } => Ok(None),
        }
    }

    /// Runs `work` in the next group's transaction and answers once that committed.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let op = Op {
            work: Some(work),
            out: None,
            reply,
        };
        self.queue
            .send(Box::new(op))
            .map_err(|_| Error::Unavailable("the database thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Unavailable("the database thread has stopped".into()))?
    }
}

impl SqliteWriter {
    /// Runs `work` on this thread, on a read-only connection of its own, in a read transaction
    /// (one snapshot however many statements). It sees every operation [`SqliteWriter::run`]
    /// has answered, and never waits for the writer.
    ///
    /// It blocks the thread for as long as `work` runs: keep it to indexed look-ups.
    pub fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let reader = READERS.with_borrow_mut(|readers| {
            readers.retain(|reader| reader.file.strong_count() > 0);
            readers
                .iter()
                .position(|reader| reader.id == self.file.id)
                .map(|at| readers.swap_remove(at))
        });
        let reader = match reader {
            Some(reader) => reader,
            None => Reader {
                file: Arc::downgrade(&self.file),
                id: self.file.id,
                conn: open_reader(&self.file.path)?,
            },
        };
        let out = read_in_transaction(&reader.conn, work);
        // A read that failed half-way may have left its transaction open.
        if reader.conn.is_autocommit() {
            READERS.with_borrow_mut(|readers| readers.push(reader));
        }
        out
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::internal_msg(format!("opening {}: {e}", path.display())))?;
    // Read-only by pragma rather than by flag: a WAL reader writes its marks in the `-shm`
    // file. A reader waits only while SQLite recovers the WAL index, after a crash.
    conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")
        .map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

fn read_in_transaction<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    execute(conn, "BEGIN", &[])?;
    let out = work(conn);
    let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = execute(conn, end, &[]);
    // The read's own failure says more than its rollback's.
    let value = out?;
    ended?;
    Ok(value)
}

fn run(conn: Connection, jobs: mpsc::Receiver<Box<dyn Job>>, wal: Arc<Wal>) {
    // SAFETY: the hook's argument is `wal`, which outlives the connection: the connection is
    // dropped at the end of this function, before `wal` (dropped in reverse order of
    // declaration, and the checkpoint thread holds another reference anyway). Setting the hook
    // turns SQLite's automatic checkpoint off on this connection.
    unsafe {
        ffi::sqlite3_wal_hook(
            conn.handle(),
            Some(wal_hook),
            Arc::as_ptr(&wal) as *mut c_void,
        );
    }
    let conn = conn;
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = jobs.recv() {
        group.push(first);
        take_waiting(&jobs, &mut group);
        let committed = run_group(&conn, &mut group, &jobs);
        if let Err(error) = &committed {
            tracing::error!(%error, operations = group.len(), "a group of database operations did not commit");
        }
        for job in group.drain(..) {
            job.finish(committed.clone());
        }
        if wal.committed() {
            match checkpoint(&conn) {
                Ok(copied) => wal.copied.store(copied, Ordering::Relaxed),
                Err(error) => tracing::warn!(%error, "a WAL checkpoint on the writer failed"),
            }
        }
    }
    wal.stop();
}

/// Adds the operations waiting in the queue to `group`, up to [`MAX_GROUP`]; true if it took any.
fn take_waiting(jobs: &mpsc::Receiver<Box<dyn Job>>, group: &mut Vec<Box<dyn Job>>) -> bool {
    let before = group.len();
    while group.len() < MAX_GROUP {
        match jobs.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    group.len() > before
}

/// Runs `group` in one transaction. Operations queued while it runs join it before the commit
/// rather than wait for the next one: a commit writes each page it changed once, however many
/// operations changed it, so under load the group grows instead of the commits.
fn run_group(
    conn: &Connection,
    group: &mut Vec<Box<dyn Job>>,
    jobs: &mpsc::Receiver<Box<dyn Job>>,
) -> std::result::Result<(), String> {
    // Transaction control is prepared once per connection, like the operations' statements.
    let step = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.raw_execute())
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    step("BEGIN IMMEDIATE")?;
    let ran = (|| {
        let mut next = 0;
        if let [job] = group.as_mut_slice() {
            // Alone in its group: its failure is the transaction's, with no savepoint to keep.
            if !job.run(conn) {
                return step("ROLLBACK");
            }
            next = 1;
        }
        loop {
            for job in &mut group[next..] {
                step("SAVEPOINT op")?;
                if job.run(conn) {
                    step("RELEASE op")?;
                } else {
                    step("ROLLBACK TO op")?;
                    step("RELEASE op")?;
                }
            }
            next = group.len();
            if !take_waiting(jobs, group) {
                break;
            }
        }
        step("COMMIT")
    })();
    if ran.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    ran
}

/// A rusqlite error as the hub's: a busy file may pass, anything else is internal.
pub fn sql(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Unavailable(format!("the database is busy: {e}"))
        }
        _ => Error::internal(e),
    }
}

fn bind(stmt: &mut rusqlite::CachedStatement<'_>, params: &[&dyn ToSql]) -> Result<()> {
    for (i, value) in params.iter().enumerate() {
        let name = format!("${}", i + 1);
        if let Some(index) = stmt.parameter_index(&name).map_err(sql)? {
            stmt.raw_bind_parameter(index, value).map_err(sql)?;
        }
    }
    Ok(())
}

/// Runs a statement with `$1`… bound to `params`; returns the rows it changed.
pub fn execute(conn: &Connection, query: &str, params: &[&dyn ToSql]) -> Result<usize> {
    let mut stmt = conn.prepare_cached(query).map_err(sql)?;
    bind(&mut stmt, params)?;
    stmt.raw_execute().map_err(sql)
}

/// The first row of a query, if any.
pub fn query_opt<T>(
    conn: &Connection,
    query: &str,
    params: &[&dyn ToSql],
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(query).map_err(sql)?;
    bind(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
    match rows.next().map_err(sql)? {
        Some(row) => Ok(Some(map(row).map_err(sql)?)),
        None => Ok(None),
    }
}

/// Every row of a query.
pub fn query_all<T>(
    conn: &Connection,
    query: &str,
    params: &[&dyn ToSql],
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(query).map_err(sql)?;
    bind(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        out.push(map(row).map_err(sql)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn writer() -> (tempfile::TempDir, SqliteWriter) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; \
             CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER);",
        )
        .expect("schema");
        drop(conn);
        let writer = SqliteWriter::open(&path, "test").expect("writer");
        (dir, writer)
    }

    /// Has the writer insert `name` and keep its transaction open until the sender is used or
    /// dropped; returns once the row is inserted, with the operation's task.
    async fn hold(
        writer: &SqliteWriter,
        name: &'static str,
    ) -> (tokio::task::JoinHandle<Result<()>>, mpsc::Sender<()>) {
        let (inserted, held) = oneshot::channel();
        let (release, wait) = mpsc::channel::<()>();
        let task = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .run(move |conn| {
                        execute(conn, "INSERT INTO t (name) VALUES ($1)", &[&name])?;
                        let _ = inserted.send(());
                        let _ = wait.recv();
                        Ok(())
                    })
                    .await
            }
        });
        held.await.expect("the writer holds its transaction");
        (task, release)
    }

    fn count(writer: &SqliteWriter) -> impl Future<Output = Result<Option<i64>>> + '_ {
        writer.run(|conn| {
            query_opt(conn, "SELECT COUNT(*) FROM t", &[], |row| {
                row.get::<_, i64>(0)
            })
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn operations_queued_together_commit_together_and_a_failing_one_alone_is_undone() {
        let (_dir, writer) = writer().await;
        // Taken before any of them runs: whichever order they reach the writer in, only the
        // seventh collides with it.
        writer
            .run(|conn| execute(conn, "INSERT INTO t (name, n) VALUES ('taken', 0)", &[]))
            .await
            .expect("insert");
        let mut calls = Vec::new();
        for i in 0..100i64 {
            let writer = writer.clone();
            calls.push(tokio::spawn(async move {
                writer
                    .run(move |conn| {
                        // Two statements: the second fails for i = 7 (a duplicate name), and the
                        // first must be undone with it.
                        execute(
                            conn,
                            "INSERT INTO t (name, n) VALUES ($1, $2)",
                            &[&format!("row{i}"), &i],
                        )?;
                        let name = if i == 7 {
                            "taken".to_owned()
                        } else {
                            format!("extra{i}")
                        };
                        execute(
                            conn,
                            "INSERT INTO t (name, n) VALUES ($1, $2)",
                            &[&name, &-i],
                        )
                    })
                    .await
            }));
        }
        let mut failed = Vec::new();
        for (i, call) in calls.into_iter().enumerate() {
            if call.await.expect("join").is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, vec![7]);
        assert_eq!(count(&writer).await.expect("count"), Some(199));
        let seven = writer
            .run(|conn| {
                query_all(
                    conn,
                    "SELECT name FROM t WHERE n = $1 OR n = -$1",
                    &[&7i64],
                    |row| row.get::<_, String>(0),
                )
            })
            .await
            .expect("read");
        assert!(seven.is_empty(), "{seven:?}");
    }

    #[tokio::test]
    async fn an_operation_queued_while_a_group_runs_joins_its_transaction() {
        let (dir, writer) = writer().await;
        let path = dir.path().join("t.db");
        let (first, go) = hold(&writer, "first").await;
        // Queued while the first is still running, alone in its group.
        let mut second = Box::pin(writer.run(move |conn| {
            execute(conn, "INSERT INTO t (name) VALUES ('second')", &[])?;
            // Another connection sees what is committed: not `first` if this runs in its
            // transaction.
            let other = Connection::open(&path).map_err(sql)?;
            query_opt(&other, "SELECT COUNT(*) FROM t", &[], |row| {
                row.get::<_, i64>(0)
            })
        }));
        tokio::select! {
            biased;
            _ = &mut second => panic!("the second operation ran before the first finished"),
            () = std::future::ready(()) => {}
        }
        go.send(()).expect("release the first");
        first.await.expect("join").expect("the first operation");
        assert_eq!(
            second.await.expect("the second operation"),
            Some(0),
            "the second ran in the first's transaction, before its commit"
        );
        assert_eq!(count(&writer).await.expect("count"), Some(2));
    }

    #[tokio::test]
    async fn an_operation_alone_in_its_group_that_fails_leaves_nothing_behind() {
        let (_dir, writer) = writer().await;
        let failed = writer
            .run(|conn| {
                execute(conn, "INSERT INTO t (name) VALUES ($1)", &[&"first"])?;
                execute(conn, "INSERT INTO t (name) VALUES ($1)", &[&"first"])
            })
            .await;
        assert!(matches!(failed, Err(Error::Internal(_))), "{failed:?}");
        assert_eq!(count(&writer).await.expect("count"), Some(0));
    }

    #[tokio::test]
    async fn placeholders_bind_by_number_whatever_their_order_in_the_text() {
        let (_dir, writer) = writer().await;
        let got = writer
            .run(|conn| {
                execute(
                    conn,
                    "INSERT INTO t (n, name) VALUES ($2, $1)",
                    &[&"a", &5i64],
                )?;
                query_opt(
                    conn,
                    "SELECT name, n FROM t WHERE n = $2 AND name = $1",
                    &[&"a", &5i64],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
                )
            })
            .await
            .expect("run");
        assert_eq!(got, Some(("a".to_owned(), 5)));
    }

    #[tokio::test]
    async fn an_operation_that_panics_fails_alone_and_the_thread_goes_on() {
        let (_dir, writer) = writer().await;
        let panicked = writer
            .run(|_conn| -> Result<()> { panic!("a bug in an operation") })
            .await;
        assert!(matches!(panicked, Err(Error::Internal(_))), "{panicked:?}");
        writer
            .run(|conn| execute(conn, "INSERT INTO t (name) VALUES ($1)", &[&"after"]))
            .await
            .expect("the next operation runs");
        assert_eq!(count(&writer).await.expect("count"), Some(1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_copied_back_into_the_database_file_by_the_checkpoint_thread() {
        let (dir, writer) = writer().await;
        let file = dir.path().join("t.db");
        let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let before = size(&file);
        // One commit each, a page of data or more each: past the checkpoint's 1,000 pages.
        for i in 0..1500i64 {
            writer
                .run(move |conn| {
                    execute(
                        conn,
                        "INSERT INTO t (name, n) VALUES ($1, $2)",
                        &[&format!("{i:04}{}", "x".repeat(4000)), &i],
                    )
                })
                .await
                .expect("insert");
        }
        // The writer's connection has no automatic checkpoint: only the other thread copies
        // the rows into the file itself (it runs on its own, so wait for it a while).
        let mut after = size(&file);
        for _ in 0..100 {
            if after > before + 4_000_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            after = size(&file);
        }
        assert!(
            after > before + 4_000_000,
            "the database file grew from {before} to {after} bytes only"
        );
        assert_eq!(count(&writer).await.expect("count"), Some(1500));
    }

    fn names(writer: &SqliteWriter) -> Result<Vec<String>> {
        writer.read(|conn| {
            query_all(conn, "SELECT name FROM t ORDER BY name", &[], |row| {
                row.get::<_, String>(0)
            })
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_sees_what_the_writer_answered_and_never_waits_for_it() {
        let (_dir, writer) = writer().await;
        writer
            .run(|conn| execute(conn, "INSERT INTO t (name) VALUES ('a')", &[]))
            .await
            .expect("insert");
        // The writer inserts `b` and holds its transaction open until told.
        let (busy, release) = hold(&writer, "b").await;
        assert_eq!(names(&writer).expect("read"), ["a"]);
        release.send(()).expect("release");
        busy.await.expect("task").expect("commit");
        assert_eq!(names(&writer).expect("read"), ["a", "b"]);
    }

    #[tokio::test]
    async fn a_read_cannot_write_and_the_next_read_still_works() {
        let (_dir, writer) = writer().await;
        let refused = writer.read(|conn| execute(conn, "INSERT INTO t (name) VALUES ('x')", &[]));
        assert!(
            matches!(&refused, Err(Error::Internal(_))),
            "a write through a reader: {refused:?}"
        );
        assert_eq!(names(&writer).expect("read"), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_thread_closes_its_readers_of_files_whose_writers_are_gone() {
        let (_first_dir, first) = writer().await;
        let (_second_dir, second) = writer().await;
        names(&first).expect("read");
        names(&second).expect("read");
        assert_eq!(READERS.with_borrow(Vec::len), 2);
        drop(first);
        names(&second).expect("read");
        assert_eq!(READERS.with_borrow(Vec::len), 1);
    }
}
