package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// ErrEmptyDSN is returned by Open for an empty DSN; the caller picks a
// default (the root package passes its default SQLite path).
var ErrEmptyDSN = errors.New("models: empty database DSN")

// sqliteParams make SQLite behave under concurrent writers: WAL lets readers
// run beside a writer, busy_timeout waits for the lock instead of failing,
// and immediate transactions take the write lock up front so two deferred
// transactions never deadlock on lock upgrade (that fails without waiting).
var sqliteParams = []string{
	"_journal_mode=WAL",
	"_busy_timeout=10000",
	"_foreign_keys=on",
	"_txlock=immediate",
	"_synchronous=NORMAL",
}

// sqliteMaxOpenConns bounds how many connections contend for SQLite's single
// write lock; the rest queue in database/sql, honouring their contexts.
const sqliteMaxOpenConns = 4

// postgresMaxOpenConns is one replica's share of a PostgreSQL server.
const postgresMaxOpenConns = 16

type openConfig struct {
	log           *slog.Logger
	slowThreshold time.Duration
}

// Option configures Open.
type Option func(*openConfig)

// WithLogger routes gorm's logging to l: failed statements at warn, slow ones
// (over 200ms) at warn, others at debug. SQL parameters are never logged,
// since they include tokens. Without it gorm logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *openConfig) { c.log = l }
}

// WithSlowThreshold changes the slow-statement threshold of WithLogger.
func WithSlowThreshold(d time.Duration) Option {
	return func(c *openConfig) { c.slowThreshold = d }
}

// Open opens dsn: a postgres:// or postgresql:// URL uses PostgreSQL, anything
// else is a SQLite file path (its directory is created). It pings before
// returning.
func Open(ctx context.Context, dsn string, opts ...Option) (*gorm.DB, error) {
	cfg := openConfig{slowThreshold: 200 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	if dsn == "" {
		return nil, ErrEmptyDSN
	}
	gcfg := &gorm.Config{
		Logger:         gormlogger.Discard,
		TranslateError: true,
	}
	if cfg.log != nil {
		gcfg.Logger = &slogLogger{log: cfg.log, slow: cfg.slowThreshold}
	}

	var (
		dialector gorm.Dialector
		isSQLite  bool
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		dialector = postgres.Open(dsn)
	default:
		full, err := sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		dialector = sqlite.Open(full)
		isSQLite = true
	}

	db, err := gorm.Open(dialector, gcfg)
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", redactDSN(dsn), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", redactDSN(dsn), err)
	}
	if isSQLite {
		sqlDB.SetMaxOpenConns(sqliteMaxOpenConns)
		sqlDB.SetMaxIdleConns(sqliteMaxOpenConns)
	} else {
		// PostgreSQL allows 100 connections by default, shared by every
		// replica: a burst of logins must queue here, not be refused there.
		sqlDB.SetMaxOpenConns(postgresMaxOpenConns)
		sqlDB.SetMaxIdleConns(postgresMaxOpenConns)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: ping %s: %w", redactDSN(dsn), err)
	}
	return db, nil
}

// sqliteDSN creates the file's directory and appends the connection params
// the caller did not set.
func sqliteDSN(dsn string) (string, error) {
	path, query, _ := strings.Cut(dsn, "?")
	file := strings.TrimPrefix(path, "file:")
	if file != ":memory:" && file != "" {
		if dir := filepath.Dir(file); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return "", fmt.Errorf("models: create database directory: %w", err)
			}
		}
	}
	params := []string{}
	if query != "" {
		params = append(params, query)
	}
	for _, p := range sqliteParams {
		key, _, _ := strings.Cut(p, "=")
		if !strings.Contains("&"+query, "&"+key+"=") {
			params = append(params, p)
		}
	}
	return path + "?" + strings.Join(params, "&"), nil
}

// redactDSN hides a PostgreSQL password in error messages.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	if user, _, hasPw := strings.Cut(userinfo, ":"); hasPw {
		userinfo = user + ":xxxxx"
	}
	return scheme + "://" + userinfo + "@" + host
}

// slogLogger adapts gorm's logger to slog without SQL parameters.
type slogLogger struct {
	log  *slog.Logger
	slow time.Duration
}

var _ gormlogger.Interface = (*slogLogger)(nil)
var _ gorm.ParamsFilter = (*slogLogger)(nil)

func (l *slogLogger) LogMode(gormlogger.LogLevel) gormlogger.Interface { return l }

func (l *slogLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.InfoContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

func (l *slogLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

func (l *slogLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

// ParamsFilter drops the bound values so Trace's SQL keeps its placeholders.
func (l *slogLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (l *slogLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		if !l.log.Enabled(ctx, slog.LevelWarn) {
			return
		}
		sql, rows := fc()
		l.log.WarnContext(ctx, "gorm: statement failed", "sql", sql, "rows", rows, "elapsed", elapsed, "err", err)
	case l.slow > 0 && elapsed > l.slow:
		if !l.log.Enabled(ctx, slog.LevelWarn) {
			return
		}
		sql, rows := fc()
		l.log.WarnContext(ctx, "gorm: slow statement", "sql", sql, "rows", rows, "elapsed", elapsed)
	default:
		if !l.log.Enabled(ctx, slog.LevelDebug) {
			return
		}
		sql, rows := fc()
		l.log.DebugContext(ctx, "gorm: statement", "sql", sql, "rows", rows, "elapsed", elapsed)
	}
}
