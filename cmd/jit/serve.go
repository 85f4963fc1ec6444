package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jitwx/jit"
)

// Connection limits of `jit serve`; the README's Security section lists them.
const (
	// defaultReadTimeout bounds reading a request, headers and body (the
	// headers alone to maxHeaderTimeout): a client that declares a body
	// and trickles it is cut off.
	defaultReadTimeout = 30 * time.Second
	// maxHeaderTimeout caps the time to send the headers, whatever
	// --read-timeout says: no route needs slow headers.
	maxHeaderTimeout = 10 * time.Second
	// defaultWriteTimeout bounds a whole request from the end of its
	// headers to the end of its response. The slowest legitimate answers
	// are the desktop QR long poll (?wait=25: up to 25 s) and a login
	// callback waiting on WeChat (auths' exchange timeout: up to 30 s), so
	// 40 s leaves them room, and is the shutdown grace period too.
	defaultWriteTimeout = 40 * time.Second
	// slowestRoute is the longest a legitimate handler takes (see above);
	// a --write-timeout below it cuts those answers off, and is warned about.
	slowestRoute = 35 * time.Second
	// defaultIdleTimeout closes a keep-alive connection that sends no next
	// request, so idle connections cannot pile up to the open-file limit.
	defaultIdleTimeout = 60 * time.Second
	// defaultMaxHeaderBytes bounds the request line and headers (431 above
	// it); cookies and a WeChat user agent need a few kB.
	defaultMaxHeaderBytes = 64 << 10
	// shutdownGrace is how long SIGTERM waits for in-flight requests.
	shutdownGrace = 40 * time.Second
)

const serveSynopsis = "serve [--app DIR] [--apps-dir DIR] [--addr HOST:PORT] [--admin-addr HOST:PORT] [--db DSN] [--public-url URL] [--trusted-proxies CIDR,...] [--login-rate N] [--dev] [--dev-allow-remote]\n" +
	"                 [--no-reload] [--log-format text|json] [--read-timeout D] [--write-timeout D] [--idle-timeout D] [--max-header-bytes N]"

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := newFlags("serve", serveSynopsis, stderr)
	dir := fset.String("app", "", "app folder (default: the bundled demo app, in dev mode)")
	appsDir := appsDirFlag(fset)
	addr := fset.String("addr", "127.0.0.1:8080", "address to listen on")
	adminAddr := fset.String("admin-addr", "", "serve /healthz, /readyz and /metrics on this address only, not on --addr (default: on --addr)")
	dsn := fset.String("db", "", "database: a postgres:// URL, or a SQLite file path (default: a SQLite file in the user cache folder)")
	public := fset.String("public-url", "", "the URL users reach this server at, e.g. https://h5.example.com (default: each request's host)")
	dev := fset.Bool("dev", false, "mount the WeChat simulator and log in through it (never in production)")
	devRemote := fset.Bool("dev-allow-remote", false, "allow dev mode (and the demo app) on an --addr other machines can reach: anyone there can log in as anyone")
	noReload := fset.Bool("no-reload", false, "do not watch the app folder for changes")
	logFormat := fset.String("log-format", "text", "log format: text or json")
	proxies := fset.String("trusted-proxies", "", "comma-separated CIDRs or addresses of the proxies in front of the server; only their X-Forwarded-For, X-Real-IP and X-Forwarded-Proto are believed (default: none)")
	loginRate := fset.Float64("login-rate", jit.DefaultLoginRate, "login requests a second allowed per client (bursts of --login-burst); 0: no limit")
	loginBurst := fset.Int("login-burst", jit.DefaultLoginBurst, "login requests a client may send at once before --login-rate applies")
	var lim limits
	lim.register(fset)
	if err := parse(fset, args); err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	} else if *logFormat != "text" {
		return fmt.Errorf("--log-format must be text or json")
	}
	logger := slog.New(handler)
	if lim.write > 0 && lim.write < slowestRoute {
		logger.Warn("--write-timeout is shorter than the slowest legitimate answers (the QR long poll, up to 25 s; a login callback waiting on WeChat, up to 30 s): those will be cut off", "write_timeout", lim.write)
	}

	if *public != "" {
		// The same lines as jit validate --public-url prints.
		probs := publicURLProblems(*public)
		printProblems(stdout, probs)
		if probs.HasErrors() {
			return exitError(1)
		}
	}

	demo := *dir == ""
	devMode := demo || *dev
	if devMode {
		if err := refuseDevInProduction(*public); err != nil {
			return err
		}
		if !*devRemote {
			if err := refuseRemoteDev(ctx, *addr, demo && !*dev); err != nil {
				return err
			}
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if devMode && !*devRemote && !isLoopback(ln.Addr()) {
		// The name resolved to a loopback address above but the socket is
		// not on one: refuse all the same.
		return remoteDevError(ln.Addr().String(), demo && !*dev)
	}
	var adminLn net.Listener
	if *adminAddr != "" {
		if adminLn, err = net.Listen("tcp", *adminAddr); err != nil {
			return fmt.Errorf("--admin-addr: %w", err)
		}
		defer adminLn.Close()
	}
	self := "http://" + reachable(ln.Addr())

	if *loginRate < 0 || *loginBurst < 1 && *loginRate > 0 {
		return errors.New("--login-rate must be 0 (no limit) or positive, with a --login-burst of at least 1")
	}
	opts := []jit.Option{jit.WithLogger(logger), jit.WithLoginRateLimit(*loginRate, *loginBurst), withAppsDir(*appsDir)}
	if *proxies != "" {
		opts = append(opts, jit.WithTrustedProxies(strings.Split(*proxies, ",")...))
	}
	if *dsn != "" {
		opts = append(opts, jit.WithDatabase(*dsn))
	}
	if *public != "" {
		opts = append(opts, jit.WithPublicURL(*public))
	}
	if *noReload {
		opts = append(opts, jit.WithoutReload())
	}
	if devMode {
		opts = append(opts, jit.WithDevSimulator(self))
		if *devRemote && !isLoopback(ln.Addr()) {
			logger.Warn("DEV MODE ON A NON-LOOPBACK ADDRESS (--dev-allow-remote): everyone who can reach " + ln.Addr().String() + " can log in as anyone through the simulator.")
		}
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
	defer app.Close() // jit.Open has logged each problem once

	servers := []*http.Server{}
	errc := make(chan error, 2)
	start := func(h http.Handler, l net.Listener) {
		srv := lim.server(h, logger)
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(l) }()
	}
	if adminLn != nil {
		start(app.PublicHandler(), ln)
		start(app.AdminHandler(), adminLn)
	} else {
		start(app.Handler(), ln)
	}
	fmt.Fprintf(stdout, "jit: serving %s on http://%s\n", appLabel(*dir), listenAddr(*addr, ln.Addr()))
	if *public != "" {
		fmt.Fprintf(stdout, "jit: public URL %s\n", *public)
	}
	if adminLn != nil {
		fmt.Fprintf(stdout, "jit: operator routes (/healthz, /readyz, /metrics) on http://%s\n", listenAddr(*adminAddr, adminLn.Addr()))
	}
	if db := app.DatabasePath(); db != "" {
		fmt.Fprintf(stdout, "jit: database %s\n", db)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, close idle connections, let
	// in-flight requests finish. A callback may wait up to 30 s on WeChat
	// (and a duplicate on it), a QR long poll 25 s, so the database is
	// closed only after that.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	shutdownErrs := make([]error, len(servers))
	for i, srv := range servers {
		wg.Go(func() { shutdownErrs[i] = srv.Shutdown(shutdownCtx) })
	}
	wg.Wait()
	for _, err := range shutdownErrs {
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// limits are the connection limits of a listener (see the defaults above).
type limits struct {
	read, write, idle time.Duration
	maxHeaderBytes    int
}

// register adds the limits' flags to fset, with their defaults.
func (l *limits) register(fset *flag.FlagSet) {
	fset.DurationVar(&l.read, "read-timeout", defaultReadTimeout, "longest a client may take to send a request, headers and body (the headers at most 10s); 0: no limit on bodies")
	fset.DurationVar(&l.write, "write-timeout", defaultWriteTimeout, "longest from the end of a request's headers to the end of its response; keep it above 35s (QR long poll, callbacks waiting on WeChat); 0: none")
	fset.DurationVar(&l.idle, "idle-timeout", defaultIdleTimeout, "close a keep-alive connection after this long without a request; 0: the read timeout")
	fset.IntVar(&l.maxHeaderBytes, "max-header-bytes", defaultMaxHeaderBytes, "largest request line and headers, in bytes (431 above it)")
}

func (l limits) check() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--read-timeout", l.read}, {"--write-timeout", l.write}, {"--idle-timeout", l.idle}} {
		if d.v < 0 {
			return fmt.Errorf("%s must not be negative", d.flag)
		}
	}
	if l.maxHeaderBytes <= 0 {
		return fmt.Errorf("--max-header-bytes must be positive")
	}
	return nil
}

// server is an http.Server for h with these limits. The read timeout
// runs from a request's first byte to the end of its body; the server
// lifts it once the body is read, so it never cuts a handler that takes
// longer (a QR long poll, a callback waiting on WeChat): those are bounded
// by the write timeout.
func (l limits) server(h http.Handler, logger *slog.Logger) *http.Server {
	header := maxHeaderTimeout
	if l.read > 0 {
		header = min(header, l.read)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: header,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    l.maxHeaderBytes,
		// "http: Accept error: ... too many open files" and the like go
		// to the log, in its format.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// refuseRemoteDev refuses dev mode on a listen address other machines can
// reach: the simulator would log in anyone there as anyone. addr is
// checked before listening (every address its host name resolves to must
// be a loopback one), so the refusal does not depend on the address being
// free or local.
func refuseRemoteDev(ctx context.Context, addr string, demo bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if host == "" {
		return remoteDevError(addr, demo) // ":8080" is every interface
	}
	if ip := net.ParseIP(strings.SplitN(host, "%", 2)[0]); ip != nil {
		if !ip.IsLoopback() {
			return remoteDevError(addr, demo)
		}
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(lctx, host)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return remoteDevError(addr, demo)
		}
	}
	return nil
}

func remoteDevError(addr string, demo bool) error {
	why := ""
	if demo {
		why = " (the bundled demo app always runs in dev mode)"
	}
	return fmt.Errorf("refusing to start dev mode on %s%s: that is not a loopback address, so other machines can reach it, "+
		"and the WeChat simulator at /_wechat lets anyone who reaches it log in as any user. "+
		"Listen on 127.0.0.1 (the default --addr), or add --dev-allow-remote if everyone on that network may do that "+
		"(e.g. to open the demo on a phone on your LAN)", addr, why)
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// reachable is how this process reaches a listener at a: the loopback
// address instead of an unspecified one (0.0.0.0, [::]), which not every
// system connects to.
func reachable(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok || !t.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(t.Port))
}

// listenAddr is the address a listener asked for as addr listens on: its
// host as given (Go reports 0.0.0.0 as [::]) with the port it got.
func listenAddr(addr string, got net.Addr) string {
	host, _, err := net.SplitHostPort(addr)
	t, ok := got.(*net.TCPAddr)
	if err != nil || host == "" || !ok {
		return got.String()
	}
	return net.JoinHostPort(strings.SplitN(host, "%", 2)[0], fmt.Sprint(t.Port))
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
