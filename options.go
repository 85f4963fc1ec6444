package jit

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/runtime"
)

// Option configures Open.
type Option func(*options)

type options struct {
	reload      bool
	dsn         string
	logger      *slog.Logger
	httpClient  *http.Client
	lookupEnv   func(string) (string, bool)
	publicURL   string
	dev         bool
	noDB        bool
	reloadHook  func(error)
	sessionTTL  time.Duration
	loginHook   auths.LoginHook
	proxies     []string
	ratePerSec  float64
	rateBurst   int
	devSelfURL  string
	runtimeOpts []runtime.Option
	watchOpts   []runtime.WatchOption
	appsDir     string
}

func defaultOptions() options {
	return options{
		reload:     true,
		logger:     slog.Default(),
		httpClient: &http.Client{Timeout: 10 * time.Second, Transport: upstreamTransport(), CheckRedirect: noRedirects},
		lookupEnv:  os.LookupEnv,
		ratePerSec: DefaultLoginRate,
		rateBurst:  DefaultLoginBurst,
	}
}

// noRedirects keeps the default client from following a redirect: WeChat's
// API never sends one, and following it would let whatever answers as WeChat
// make the server fetch any address. (The WeChat client refuses redirects
// whatever client it is given; this covers other uses of the default.)
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// upstreamTransport is http.DefaultTransport with room for the connections
// a busy login server keeps open to WeChat: the default keeps two idle
// connections per host, so concurrent logins would reconnect (and redo
// TLS) on most calls.
func upstreamTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

// WithoutReload turns off watching the app folder for changes.
func WithoutReload() Option { return func(o *options) { o.reload = false } }

// WithDebounce sets how long a burst of file events may last before the
// reload runs (default 100ms).
func WithDebounce(d time.Duration) Option {
	return func(o *options) { o.watchOpts = append(o.watchOpts, runtime.WithDebounce(d, 20*d)) }
}

// WithReloadHook is called after every reload triggered by a file change.
func WithReloadHook(f func(error)) Option { return func(o *options) { o.reloadHook = f } }

// WithAppsDir sets the apps folder on disk where the parents that app.json
// names JitAi's way, {"appId": "wanyun.BaseApp", "version": "1.0.0"}, are
// found: <dir>/wanyun/BaseApp/1.0.0/ when that folder holds an app.json,
// else <dir>/wanyun/BaseApp/. Apps opened with OpenFS find them on disk
// too. Parents named by folder path need no apps folder.
func WithAppsDir(dir string) Option { return func(o *options) { o.appsDir = dir } }

// WithDatabase selects the database: a postgres:// URL uses PostgreSQL,
// anything else is a SQLite file path. By default a SQLite file in the
// user's cache folder is used.
func WithDatabase(dsn string) Option { return func(o *options) { o.dsn = dsn } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHTTPClient sets the client used for calls to WeChat.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithLookupEnv sets how {{VAR}} config values are resolved (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = f }
}

// WithPublicURL sets the URL the app is reached at, e.g.
// https://h5.example.com, or https://h5.example.com/app/ when the handler
// is mounted under /app/ (with http.StripPrefix): WeChat's redirect_uri,
// RequireLogin's redirects and the cookies' path use it. Without it the
// request's own scheme and host are used, at the root.
func WithPublicURL(u string) Option { return func(o *options) { o.publicURL = u } }

// WithRuntimeOptions passes options to the element runtime.
func WithRuntimeOptions(opts ...runtime.Option) Option {
	return func(o *options) { o.runtimeOpts = append(o.runtimeOpts, opts...) }
}

// WithoutDatabase opens the app with no database, for tools that only
// inspect elements (jit validate, jit elements). Login routes then fail.
func WithoutDatabase() Option { return func(o *options) { o.noDB = true } }

// WithDevSimulator mounts the WeChat simulator at /_wechat and points every
// WeChat login element at it, so the whole login runs in any browser with
// no WeChat account. selfURL is how this server reaches itself, e.g.
// http://127.0.0.1:8080 (with the path when mounted under one,
// http://127.0.0.1:8080/app, beside WithPublicURL(".../app/")). Never use
// it in production: anyone can log in as anyone.
func WithDevSimulator(selfURL string) Option {
	return func(o *options) { o.dev, o.devSelfURL = true, selfURL }
}

// WithSessionTTL sets how long a login lasts (default 7 days).
func WithSessionTTL(d time.Duration) Option { return func(o *options) { o.sessionTTL = d } }

// WithLoginHook runs f on every login after the provider answered and the
// identity is resolved, before anything is stored or a session starts. An
// error refuses the login (403 login_refused); the person sees its message,
// so write it in Chinese. Apps with their own users table link or refuse
// here.
func WithLoginHook(f func(ctx context.Context, ev *auths.LoginEvent) error) Option {
	return func(o *options) { o.loginHook = f }
}

// The default rate limit of the login routes, per client: a person logging
// in (two requests) or retrying never meets it, an office of a few hundred
// behind one address logging in at nine neither, a flood does.
const (
	DefaultLoginRate  = 2.0 // requests a second
	DefaultLoginBurst = 40
)

// WithLoginRateLimit limits each client to perSecond requests (bursts of
// burst) on the routes that start or finish a login, each of which writes
// to the database; 429 rate_limited past it. 0 turns it off. The limit is
// kept in memory, per replica.
func WithLoginRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.ratePerSec, o.rateBurst = perSecond, burst }
}

// WithTrustedProxies names the proxies (CIDRs such as 10.0.0.0/8, or
// single addresses) in front of the server. Only a request from one of
// them is believed about the client's address (X-Forwarded-For,
// X-Real-IP: the rate limit's key) and scheme (X-Forwarded-Proto: the
// cookies' names and flags); by default no one is.
func WithTrustedProxies(cidrs ...string) Option {
	return func(o *options) { o.proxies = append(o.proxies, cidrs...) }
}
