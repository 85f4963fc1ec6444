package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/jitwx/jit"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := newFlags("serve", "serve [--app DIR] [--addr HOST:PORT] [--db DSN] [--public-url URL] [--dev] [--no-reload] [--log-format text|json]", stderr)
	dir := fset.String("app", "", "app folder (default: the bundled demo app, in dev mode)")
	addr := fset.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := fset.String("db", "", "database: a postgres:// URL, or a SQLite file path (default: a SQLite file in the user cache folder)")
	public := fset.String("public-url", "", "the URL users reach this server at, e.g. https://h5.example.com (default: each request's host)")
	dev := fset.Bool("dev", false, "mount the WeChat simulator and log in through it (never in production)")
	noReload := fset.Bool("no-reload", false, "do not watch the app folder for changes")
	logFormat := fset.String("log-format", "text", "log format: text or json")
	if err := parse(fset, args); err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	} else if *logFormat != "text" {
		return fmt.Errorf("--log-format must be text or json")
	}
	logger := slog.New(handler)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	self := "http://" + ln.Addr().String()

	opts := []jit.Option{jit.WithLogger(logger)}
	if *dsn != "" {
		opts = append(opts, jit.WithDatabase(*dsn))
	}
	if *public != "" {
		opts = append(opts, jit.WithPublicURL(*public))
	}
	if *noReload {
		opts = append(opts, jit.WithoutReload())
	}
	demo := *dir == ""
	if demo || *dev {
		if err := refuseDevInProduction(*public); err != nil {
			return err
		}
		opts = append(opts, jit.WithDevSimulator(self))
		logger.Warn("DEV MODE: the WeChat simulator is mounted at /_wechat and anyone can log in as anyone. Never expose this server.")
	}
	var app *jit.App
	if demo {
		sub, _ := fs.Sub(demoFS, "demoapp")
		app, err = jit.OpenFS(ctx, sub, ".", opts...)
	} else {
		app, err = jit.Open(ctx, *dir, opts...)
	}
	if err != nil {
		return err
	}
	defer app.Close()
	for _, p := range app.Problems() {
		logger.Warn("app problem", "severity", p.Severity.String(), "problem", p.Error())
	}

	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	where := self
	if *public != "" {
		where = *public
	}
	fmt.Fprintf(stdout, "jit: serving %s on %s\n", appLabel(*dir), where)
	if db := app.DatabasePath(); db != "" {
		fmt.Fprintf(stdout, "jit: database %s\n", db)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight callbacks finish. A
	// callback may wait up to 30 s on WeChat (and a duplicate on it), so
	// the database is closed only after that.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func appLabel(dir string) string {
	if dir == "" {
		return "the bundled demo app (dev mode)"
	}
	return dir
}

// refuseDevInProduction keeps the simulator, which logs anyone in as
// anyone, off a public https site.
func refuseDevInProduction(public string) error {
	if public == "" {
		return nil
	}
	u, err := url.Parse(public)
	if err != nil {
		return fmt.Errorf("--public-url: %w", err)
	}
	host := u.Hostname()
	local := host == "localhost" || net.ParseIP(host) != nil && (net.ParseIP(host).IsLoopback() || net.ParseIP(host).IsPrivate())
	if u.Scheme == "https" && !local {
		return fmt.Errorf("refusing dev mode with the public https URL %s: the simulator lets anyone log in as anyone", public)
	}
	return nil
}
