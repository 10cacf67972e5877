package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned by Get for an unknown alert id, and by Ack and
// Retry for an outbox item that is no longer there.
var ErrNotFound = errors.New("not found")

// ErrOutboxFull is returned, unwrapped, by SaveBatch when queueing the
// batch's deliveries would take the outbox past its bound. Nothing of the
// batch is stored: the caller answers 503 and the API server retries.
var ErrOutboxFull = errors.New("alert outbox full")

// DefaultMaxOutbox is the outbox bound when WithMaxOutbox is not given.
const DefaultMaxOutbox = 100000

// busyTimeout is how long a connection waits for another process's lock
// (SQLite busy_timeout) before giving up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// maxReaders bounds the read pool.
const maxReaders = 4

// Store is an alert store over one SQLite file. It is safe for concurrent
// use.
type Store struct {
	path string
	// w is the only connection that writes: database/sql hands it to one
	// transaction at a time, which serializes writers in this process
	// without SQLITE_BUSY. Its transactions begin IMMEDIATE, so a writer in
	// another process waits (busy_timeout) instead of deadlocking.
	w *sql.DB
	// r is a pool of read-only connections; in WAL mode they read a
	// consistent snapshot while w writes.
	r         *sql.DB
	stmt      statements
	maxOutbox int
	now       func() time.Time
}

// Option configures Open.
type Option func(*Store)

// WithMaxOutbox bounds the number of undelivered outbox items, over all
// sinks (default DefaultMaxOutbox). n <= 0 keeps the default.
func WithMaxOutbox(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxOutbox = n
		}
	}
}

// Open opens the store at path, creating the file and its schema when
// missing and migrating an older schema. The directory must be writable:
// SQLite keeps the -wal and -shm files beside the database.
func Open(path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: no database path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("store: %s is a directory, not a database file", path)
	}
	s := &Store{path: path, maxOutbox: DefaultMaxOutbox, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.w, err = sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, openError(path, abs, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	// Connecting runs the pragmas: the first read of the file, where one
	// that is not a database is found out.
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, openError(path, abs, err)
	}
	if err := migrate(ctx, s.w); err != nil {
		s.Close()
		return nil, openError(path, abs, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, openError(path, abs, err)
	}
	if s.r, err = sql.Open("sqlite", dsn(abs, false)); err != nil {
		s.Close()
		return nil, openError(path, abs, err)
	}
	s.r.SetMaxOpenConns(maxReaders)
	s.r.SetMaxIdleConns(maxReaders)
	if err := s.r.PingContext(ctx); err != nil {
		s.Close()
		return nil, openError(path, abs, err)
	}
	return s, nil
}

// dsn builds the driver's name for the file at abs: a SQLite URI, so a
// path holding '?' or '#' is escaped rather than cut, with the pragmas
// each connection runs when it opens.
func dsn(abs string, writer bool) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	if u.Path[0] != '/' {
		u.Path = "/" + u.Path // a Windows drive letter
	}
	q := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	if writer {
		// journal_mode is stored in the file: setting it on the writer,
		// which connects first, is enough for every later connection.
		q += "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	} else {
		q += "&_pragma=query_only(1)"
	}
	return u.String() + "?" + q
}

// openError turns a failure to open or set up the database into an error
// that names the file and says what is wrong with it.
func openError(path, abs string, err error) error {
	var se *sqlite.Error
	code := 0
	if errors.As(err, &se) {
		code = se.Code() & 0xff
	}
	switch code {
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("store: %s is not a SQLite database: %w", path, err)
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("store: %s is corrupt: %w", path, err)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
		if why := whyNotWritable(abs); why != "" {
			return fmt.Errorf("store: cannot open %s: %s: %w", path, why, err)
		}
	}
	return fmt.Errorf("store: %s: %w", path, err)
}

// whyNotWritable looks for the reason SQLite could not open or write the
// file at abs; "" when it finds none.
func whyNotWritable(abs string) string {
	dir := filepath.Dir(abs)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("directory %s does not exist", dir)
	case err != nil:
		return fmt.Sprintf("directory %s: %v", dir, err)
	case !fi.IsDir():
		return fmt.Sprintf("%s is not a directory", dir)
	}
	if f, err := os.OpenFile(abs, os.O_RDWR, 0); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("the file is not writable (%v)", errors.Unwrap(err))
	}
	// Creating a file is the one test that holds for ACLs, read-only
	// mounts and root alike. SQLite needs it for the -wal and -shm files.
	f, err := os.CreateTemp(dir, ".imdsguard-probe-*")
	if err != nil {
		return fmt.Sprintf("directory %s is not writable, and SQLite creates the database, -wal and -shm files there (%v)", dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return ""
}

// Close closes the store. The last connection to close checkpoints the
// write-ahead log into the database file.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	for _, st := range []*sql.Stmt{s.stmt.load, s.stmt.insert, s.stmt.update, s.stmt.enqueue, s.stmt.depth} {
		if st != nil {
			st.Close()
		}
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Writable checks that the store can commit a write, for a readiness
// probe: it updates one row of its own, which goes through the write lock
// and an fsync like any batch.
func (s *Store) Writable(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`,
		s.now().UnixMicro())
	if err != nil {
		return fmt.Errorf("store: %s not writable: %w", s.path, err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
